// Approximate k-NN over large reference sets: an HNSW graph from hnswlib-node (optional dependency).
// hnswlib trusts a stored graph completely (a crafted one overflows its heap), so a graph is only
// handed to it after checkHnswGraph has checked every field and link that hnswlib reads, against
// the references and the build options it must have been built with; the vectors in it are then
// overwritten from the references, so that they cannot disagree with them.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { checkInt } from '../tensor/checks.js';
import { checkEmbeddings, checkOptionKeys } from './inputs.js';
import { type KnnMetric, type KnnResult, checkMetric } from './knn.js';

/** The part of hnswlib-node's HierarchicalNSW that this index uses. */
interface HierarchicalNSW {
  initIndex(maxElements: number, m?: number, efConstruction?: number, randomSeed?: number): void;
  resizeIndex(newMaxElements: number): void;
  addPoint(point: number[], label: number): void;
  searchKnn(query: number[], k: number): { distances: number[]; neighbors: number[] };
  setEf(ef: number): void;
  getCurrentCount(): number;
  getMaxElements(): number;
  writeIndexSync(filename: string): void;
  readIndexSync(filename: string): void;
}
type HnswModule = { HierarchicalNSW: new (space: 'l2' | 'ip' | 'cosine', dim: number) => HierarchicalNSW };

let loaded: HnswModule | null | undefined;
let loadError = '';

function loadHnsw(): HnswModule | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('hnswlib-node') as HnswModule;
    } catch (err) {
      loaded = null;
      loadError = err instanceof Error ? err.message : String(err);
    }
  }
  return loaded;
}

/** Whether hnswlib-node is installed and its native addon loads. */
export function hnswAvailable(): boolean {
  return loadHnsw() !== null;
}

export interface HnswIndexOptions {
  /** Same conventions as knnSearch: 'cosine' → 1 − cos, 'euclidean' → ‖q − r‖₂. Default 'cosine'. */
  metric?: KnnMetric;
  /** Graph degree (hnswlib's M). Default 16. */
  m?: number;
  /** Candidate list size while building; larger is slower and more accurate. Default 200. */
  efConstruction?: number;
  /** Candidate list size while searching (raised to k when smaller). Default 64. */
  ef?: number;
  /** Seed of the level generator, for reproducible graphs. Default 100 (hnswlib's). */
  seed?: number;
}

const OPTION_KEYS = ['metric', 'm', 'efConstruction', 'ef', 'seed'] as const;

/**
 * An approximate nearest-neighbour index over reference embeddings. Use it when the reference
 * set is too large for knnSearch's exact scan to be quick; recall is tuned by ef.
 * The graph lives in hnswlib's memory, not in tensors: it is freed with the object.
 */
export class HnswIndex {
  readonly metric: KnnMetric;
  readonly dim: number;
  #index: HierarchicalNSW;
  #ef: number;
  /** hnswlib's M, which sets the size of every stored link list. */
  readonly #m: number;

  constructor(dim: number, opts: HnswIndexOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'HnswIndex');
    const lib = loadHnsw();
    if (lib === null) {
      throw new Error(`HnswIndex needs the optional dependency hnswlib-node, which did not load (${loadError}). ` +
        'Install it with `npm install hnswlib-node` (it compiles with node-gyp; under npm 11 run `npm install-scripts approve hnswlib-node` first), ' +
        'or use the exact knnSearch instead.');
    }
    this.dim = checkInt(dim, 'dim of HnswIndex', 1);
    this.metric = checkMetric(opts.metric ?? 'cosine');
    this.#ef = checkInt(opts.ef ?? 64, 'ef of HnswIndex', 1);
    this.#index = new lib.HierarchicalNSW(this.metric === 'cosine' ? 'cosine' : 'l2', this.dim);
    this.#m = checkInt(opts.m ?? 16, 'm of HnswIndex', 2);
    this.#index.initIndex(1024, this.#m, checkInt(opts.efConstruction ?? 200, 'efConstruction of HnswIndex', 1),
      checkInt(opts.seed ?? 100, 'seed of HnswIndex', 0));
  }

  /**
   * The graph to store: hnswlib's file format without the vectors (the references are stored
   * anyway; hnswlib's copy would double the file). Give it back to HnswIndex.fromBytes.
   */
  toBytes(): Buffer {
    const full = this.toHnswlibBytes();
    const count = this.size;
    const { level0Links, elementBytes } = elementLayout(this.dim, this.#m);
    const stored = level0Links + 8; // links and label
    const out = Buffer.alloc(full.length - count * 4 * this.dim);
    full.copy(out, 0, 0, HEADER_BYTES);
    for (let i = 0; i < count; i++) {
      const from = HEADER_BYTES + i * elementBytes;
      const to = HEADER_BYTES + i * stored;
      full.copy(out, to, from, from + level0Links);
      full.copy(out, to + level0Links, from + elementBytes - 8, from + elementBytes);
    }
    full.copy(out, HEADER_BYTES + count * stored, HEADER_BYTES + count * elementBytes);
    return out;
  }

  /** The graph in hnswlib's own file format, vectors included (what HnswIndex.fromHnswlibBytes reads). */
  toHnswlibBytes(): Buffer {
    return withPrivateFile((file) => {
      this.#index.writeIndexSync(file);
      return readFileSync(file);
    });
  }

  /**
   * An index over `references` [N,dim] with the graph toBytes() gave, built with these options
   * (m and efConstruction must be those it was built with): the vectors go back in from the
   * references, then the whole graph is checked (see fromHnswlibBytes).
   */
  static fromBytes(graph: Uint8Array, references: Tensor, opts: HnswIndexOptions = {}): HnswIndex {
    checkEmbeddings(references, 'references');
    const [count, dim] = references.shape;
    const m = checkInt(opts.m ?? 16, 'm of HnswIndex', 2);
    const { level0Links, elementBytes } = elementLayout(dim, m);
    const stored = level0Links + 8;
    // The fields that size the records, before they are used (checkHnswGraph checks the rest).
    if (graph.length < HEADER_BYTES) throw new InvalidHnswGraph(`is ${graph.length} bytes long, shorter than hnswlib's ${HEADER_BYTES}-byte header`);
    const header = new DataView(graph.buffer, graph.byteOffset, HEADER_BYTES);
    for (const [offset, name, expected] of [[16, 'cur_element_count', count], [72, 'M', Math.min(m, 10000)]] as const) {
      const got = header.getBigUint64(offset, true);
      if (got !== BigInt(expected)) throw new InvalidHnswGraph(`has ${name} ${got} in its header where ${expected} was expected (${dim} features, M ${m}, ${count} elements)`);
    }
    // Sized from the references, never from the file's own counts.
    if (graph.length < HEADER_BYTES + count * stored) {
      throw new InvalidHnswGraph(`is ${graph.length} bytes long, too short for the level-0 links of ${count} elements`);
    }
    const full = new Uint8Array(graph.length + count * 4 * dim);
    full.set(graph.subarray(0, HEADER_BYTES));
    for (let i = 0; i < count; i++) {
      const from = HEADER_BYTES + i * stored;
      const to = HEADER_BYTES + i * elementBytes;
      full.set(graph.subarray(from, from + level0Links), to);
      full.set(graph.subarray(from + level0Links, from + stored), to + elementBytes - 8);
    }
    full.set(graph.subarray(HEADER_BYTES + count * stored), HEADER_BYTES + count * elementBytes);
    return HnswIndex.#fromOwnedGraph(full, references, opts);
  }

  /**
   * An index over `references` [N,dim] from a graph in hnswlib's own file format (vectors
   * included, as index files of an earlier deepmetric store it), built with these options. The
   * graph is checked completely first (checkHnswGraph; an InvalidHnswGraph error says what is
   * wrong) and its vectors are replaced by the references, as addPoint would store them.
   */
  static fromHnswlibBytes(graph: Uint8Array, references: Tensor, opts: HnswIndexOptions = {}): HnswIndex {
    checkEmbeddings(references, 'references');
    return HnswIndex.#fromOwnedGraph(new Uint8Array(graph), references, opts); // a copy: its vectors are overwritten
  }

  /** fromHnswlibBytes on a buffer it may change (offset 0, so 4-aligned for the float view below). */
  static #fromOwnedGraph(bytes: Uint8Array, references: Tensor, opts: HnswIndexOptions): HnswIndex {
    const [count, dim] = references.shape;
    const index = new HnswIndex(dim, opts);
    const m = checkInt(opts.m ?? 16, 'm of HnswIndex', 2);
    const layout = checkHnswGraph(bytes, { count, dim, m, efConstruction: checkInt(opts.efConstruction ?? 200, 'efConstruction of HnswIndex', 1) });
    const view = new DataView(bytes.buffer);
    // max_elements is only the capacity hnswlib allocates: exactly the references.
    view.setBigUint64(8, BigInt(count), true);
    const vectors = new Float32Array(bytes.buffer, 0, bytes.length >> 2); // checked: a multiple of 4 bytes
    const data = tidy(() => references.to('cpu').float().contiguous().dataSync()) as Float32Array;
    for (let i = 0; i < count; i++) {
      const row = data.subarray(i * dim, (i + 1) * dim);
      vectors.set(index.metric === 'cosine' ? normalized(row) : row, (HEADER_BYTES + i * layout.elementBytes + layout.vectorOffset) / 4);
    }
    const lib = loadHnsw()!;
    // A fresh native object: readIndexSync frees the graph it holds before reading, and keeps the
    // freed pointer when reading fails (a double free later); this one holds none.
    const hnsw = new lib.HierarchicalNSW(index.metric === 'cosine' ? 'cosine' : 'l2', dim);
    withPrivateFile((file) => {
      writeFileSync(file, bytes, { flag: 'wx', mode: 0o600 });
      hnsw.readIndexSync(file);
    });
    index.#index = hnsw;
    return index;
  }

  /** Number of references added so far. */
  get size(): number {
    return this.#index.getCurrentCount();
  }

  /** Adds rows of references [N,dim]; they get the indices size … size + N − 1. */
  add(references: Tensor): this {
    checkEmbeddings(references, 'references');
    const [n, d] = references.shape;
    if (d !== this.dim) throw new TypeError(`Expected references with ${this.dim} features but received shape [${n},${d}]`);
    const start = this.size;
    if (start + n > this.#index.getMaxElements()) this.#index.resizeIndex(Math.max(start + n, 2 * this.#index.getMaxElements()));
    const data = tidy(() => references.to('cpu').float().contiguous().dataSync()) as Float32Array;
    for (let i = 0; i < n; i++) this.#index.addPoint(Array.from(data.subarray(i * d, (i + 1) * d)), start + i);
    return this;
  }

  /** The (approximately) k nearest references of each query [Q,dim], as knnSearch returns them. */
  search(queries: Tensor, k: number): KnnResult {
    checkEmbeddings(queries, 'queries');
    const [nq, d] = queries.shape;
    if (d !== this.dim) throw new TypeError(`Expected queries with ${this.dim} features but received shape [${nq},${d}]`);
    checkInt(k, `k (at most the ${this.size} references in the index)`, 1, this.size);
    this.#index.setEf(Math.max(this.#ef, k));
    const data = tidy(() => queries.to('cpu').float().contiguous().dataSync()) as Float32Array;
    const distances = new Float32Array(nq * k);
    const indices = new BigInt64Array(nq * k);
    for (let i = 0; i < nq; i++) {
      const found = this.#index.searchKnn(Array.from(data.subarray(i * d, (i + 1) * d)), k);
      // hnswlib returns farthest-first in some versions; sort nearest-first like knnSearch.
      const order = found.neighbors.map((_, j) => j).sort((a, b) => found.distances[a] - found.distances[b]);
      for (let j = 0; j < k; j++) {
        const dist = found.distances[order[j]];
        // hnswlib's 'l2' space is the squared distance; its 'cosine' is already 1 − cos.
        distances[i * k + j] = this.metric === 'euclidean' ? Math.sqrt(Math.max(dist, 0)) : dist;
        indices[i * k + j] = BigInt(found.neighbors[order[j]]);
      }
    }
    return { distances: tensor(distances, { shape: [nq, k] }), indices: tensor(indices, { shape: [nq, k] }) };
  }
}

/** A graph refused by checkHnswGraph: it is not what hnswlib would have written for these references. */
export class InvalidHnswGraph extends Error {
  override name = 'InvalidHnswGraph';
}

/** What a stored graph must have been built for: count vectors of dim floats, hnswlib's M and efConstruction. */
export interface HnswGraphShape {
  count: number;
  dim: number;
  m: number;
  efConstruction: number;
}

/** hnswlib's file header: 6 size_t, an int, a uint32, 3 size_t, a double and a size_t. */
const HEADER_BYTES = 96;

/** The bytes of one level-0 record in hnswlib's format: links (count header + 2M links), then the float vector and a size_t label. */
function elementLayout(dim: number, m: number): { level0Links: number; elementBytes: number } {
  const level0Links = 4 + 4 * 2 * Math.min(m, 10000); // hnswlib caps M at 10000
  return { level0Links, elementBytes: level0Links + 4 * dim + 8 };
}

/**
 * Checks, completely and in one pass, a graph in the format of hnswlib's saveIndex (hnswalg.h as
 * bundled in hnswlib-node 3.0: header; count level-0 records of [u32 link count (byte 2: deleted
 * flag), 2M u32 links, the vector, a u64 label]; then per element a u32 byte size and its upper
 * levels, each [u32 link count, M u32 links]). loadIndex and searchKnn trust every one of these
 * numbers as a size, an offset or an index, so each must be what hnswlib computes itself for
 * `shape`, or lie inside what those sizes allow. Throws InvalidHnswGraph saying what is wrong;
 * returns the layout. The vectors are not checked: fromBytes overwrites them.
 */
export function checkHnswGraph(graph: Uint8Array, shape: HnswGraphShape): { elementBytes: number; vectorOffset: number } {
  const fail = (what: string): never => {
    throw new InvalidHnswGraph(what);
  };
  const { count, dim } = shape;
  const m = Math.min(shape.m, 10000); // hnswlib caps M at 10000
  const maxM0 = 2 * m;
  const { level0Links, elementBytes } = elementLayout(dim, m);
  const upperBytes = 4 + 4 * m; // one upper level: count header + maxM links
  if (graph.length < HEADER_BYTES) fail(`is ${graph.length} bytes long, shorter than hnswlib's ${HEADER_BYTES}-byte header`);
  const v = new DataView(graph.buffer, graph.byteOffset, graph.byteLength);

  // The header: sizes and offsets hnswlib uses for every address, and the build options (a
  // different M would read every list with the wrong stride). max_elements (at 8) is only a
  // capacity and fromBytes sets it to count.
  const expectSize = (offset: number, name: string, expected: number) => {
    const got = v.getBigUint64(offset, true);
    if (got !== BigInt(expected)) fail(`has ${name} ${got} in its header where ${expected} was expected (${dim} features, M ${shape.m}, ${count} elements)`);
  };
  expectSize(0, 'offsetLevel0', 0);
  expectSize(16, 'cur_element_count', count);
  expectSize(24, 'size_data_per_element', elementBytes);
  expectSize(32, 'label_offset', level0Links + 4 * dim);
  expectSize(40, 'offsetData', level0Links);
  expectSize(56, 'maxM', m);
  expectSize(64, 'maxM0', maxM0);
  expectSize(72, 'M', m);
  expectSize(88, 'ef_construction', Math.max(shape.efConstruction, m));
  // mult sets the level of points added later: 1/ln(M), up to the last bits of two libms' log.
  const mult = v.getFloat64(80, true);
  if (!(Math.abs(mult * Math.log(m) - 1) < 1e-12)) fail(`has mult ${mult} in its header where 1/ln(${m}) was expected`);

  // The exact length, walking the upper-level sizes (each a whole number of levels: hnswlib
  // derives an element's level by dividing, and reads whole levels).
  const level0End = HEADER_BYTES + count * elementBytes;
  if (graph.length < level0End + 4 * count) fail(`is ${graph.length} bytes long, too short for the level-0 records of ${count} elements`);
  const levels = new Int32Array(count);
  const upperStart = new Float64Array(count);
  let pos = level0End;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > graph.length) fail(`ends inside the upper levels of element ${i}`);
    const size = v.getUint32(pos, true);
    if (size % upperBytes !== 0) fail(`gives element ${i} ${size} bytes of upper levels, not a multiple of the ${upperBytes} bytes of one level`);
    levels[i] = size / upperBytes;
    upperStart[i] = pos + 4;
    pos += 4 + size;
  }
  if (pos !== graph.length) fail(`is ${graph.length} bytes long where its elements take ${pos}`);

  // The entry point and top level: searchKnn starts there and reads the entry point's lists at
  // every level from the top down. An empty graph has none (-1), or the next add would use it.
  const maxLevel = v.getInt32(48, true);
  const entry = v.getUint32(52, true);
  if (count === 0) {
    if (maxLevel !== -1 || entry !== 0xffffffff) fail(`is empty but has top level ${maxLevel} and entry point ${entry} (expected -1 and none)`);
  } else {
    const top = levels.reduce((a, b) => Math.max(a, b), 0);
    if (maxLevel !== top) fail(`has top level ${maxLevel} in its header but its highest element is at level ${top}`);
    if (entry >= count) fail(`has entry point ${entry}, past its ${count} elements`);
    if (levels[entry] !== maxLevel) fail(`has entry point ${entry} at level ${levels[entry]}, not at the top level ${maxLevel}`);
  }

  // Each list: a count hnswlib loops over (≤ the slots it has), links that index elements, and at
  // level l only elements that have a level l (searchKnn then reads that element's level-l list;
  // an element without one has a null list).
  const checkList = (offset: number, capacity: number, level: number, i: number) => {
    const n = v.getUint32(offset, true); // the high half must be 0 too: byte 2 is the deleted flag at level 0
    if (n > capacity) fail(`gives element ${i} ${n > 0xffff ? `the header 0x${n.toString(16)}` : n} links at level ${level}; at most ${capacity} fit`);
    for (let j = 0; j < n; j++) {
      const to = v.getUint32(offset + 4 + 4 * j, true);
      if (to >= count) fail(`links element ${i} at level ${level} to element ${to}, past its ${count} elements`);
      if (levels[to] < level) fail(`links element ${i} at level ${level} to element ${to}, whose top level is ${levels[to]}`);
    }
  };
  for (let i = 0; i < count; i++) {
    const base = HEADER_BYTES + i * elementBytes;
    // A deleted element makes hnswlib search on the slow path and leave it out of results; we never delete.
    if (graph[base + 2] & 1) fail(`marks element ${i} deleted`);
    checkList(base, maxM0, 0, i);
    // Labels are the references' row numbers: element i was added as row i.
    const label = v.getBigUint64(base + level0Links + 4 * dim, true);
    if (label !== BigInt(i)) fail(`gives element ${i} the label ${label}; element i must have label i`);
    for (let l = 1; l <= levels[i]; l++) checkList(upperStart[i] + (l - 1) * upperBytes, m, l, i);
  }
  return { elementBytes, vectorOffset: level0Links };
}

/** A row scaled to unit length exactly as hnswlib-node's normalizePoint does it, in float32 arithmetic. */
function normalized(row: Float32Array): Float32Array {
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum = Math.fround(sum + Math.fround(row[j] * row[j]));
  const norm = Math.fround(Math.sqrt(sum));
  if (!(norm > 0)) return row;
  const out = new Float32Array(row.length);
  for (let j = 0; j < row.length; j++) out[j] = row[j] / norm;
  return out;
}

/** Runs fn with a path in a fresh directory only this user can enter (no other process can swap the file), then removes it. */
function withPrivateFile<T>(fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'deepmetric-hnsw-'));
  try {
    return fn(join(dir, 'graph.bin'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

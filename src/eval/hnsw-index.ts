// Approximate k-NN over large reference sets: an HNSW graph from hnswlib-node (optional dependency).
// The graph is only ever built here, never read from a file: hnswlib trusts a stored graph
// completely (a crafted one overflows its heap). A saved image index keeps the embeddings and the
// build options instead; adding the same rows in the same order with them gives the same graph.
import { createRequire } from 'node:module';
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
    this.#index.initIndex(1024, checkInt(opts.m ?? 16, 'm of HnswIndex', 2), checkInt(opts.efConstruction ?? 200, 'efConstruction of HnswIndex', 1),
      checkInt(opts.seed ?? 100, 'seed of HnswIndex', 0));
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

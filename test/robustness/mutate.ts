// A seeded, deterministic mutator for the fuzz pass (fuzz.test.ts): the same (format, seed,
// iteration) and seed file always give the same mutant. Generic byte mutations (bit flips,
// interesting bytes, truncation, inserted / duplicated / deleted chunks, length-like fields
// overwritten with huge or negative values, numbers in text rewritten, splices with another seed)
// and helpers that let a mutant past a format's checksum ("resealing"), so that the reader's
// parsing behind the checksum is exercised too: the SHA-256 of a deepmetric bundle, the whole-file
// SHA-256 of a checkpoint, PNG chunk CRCs, tar header checksums, the gzip wrapper.
import { createHash } from 'node:crypto';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';

/** xorshift128+-free and simple: mulberry32, enough for choosing mutations. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A uniform uint32. */
  u32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** FNV-1a of the text: the mutant's RNG seed is derived from (format, seed, iteration) alone. */
export function mutantSeed(format: string, seed: number, iteration: number): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(`${format}:${seed}:${iteration}`)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x20, 0x30];
/** Values for length-like fields: huge, negative (as two's complement), off by one, zero. */
function interestingValues(width: 2 | 4 | 8, fileLength: number): bigint[] {
  const bits = BigInt(width * 8);
  const all = (1n << bits) - 1n;
  const len = BigInt(fileLength);
  return [0n, 1n, all, all >> 1n, 1n << (bits - 1n), all - 1n, len, len + 1n, len * 2n, 0x10000n, 0x7fffn, 0x8000n,
    ...(width >= 4 ? [0xffffffffn, 0x80000000n, 0x7fffffffn, 0x100000000n] : []),
    ...(width === 8 ? [1n << 53n, (1n << 53n) + 1n, 1n << 62n] : [])].map((v) => v & all);
}

function writeUInt(buf: Buffer, at: number, width: 2 | 4 | 8, value: bigint, bigEndian: boolean): void {
  for (let i = 0; i < width; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    buf[bigEndian ? at + width - 1 - i : at + i] = byte;
  }
}

function readUInt(buf: Buffer, at: number, width: 2 | 4 | 8, bigEndian: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) v |= BigInt(buf[bigEndian ? at + width - 1 - i : at + i]) << BigInt(8 * i);
  return v;
}

const NUMBER_TEXTS = ['-1', '0', '1', '-0', '99999999999999999999', '4294967296', '2147483648', '9007199254740993', '1e308', '-1e308', '1.5', 'NaN', '0x10',
  '77777777777', '00000000000', '-9223372036854775808'];

/** Where a mutation lands: mostly anywhere, sometimes within the first bytes (headers). */
function position(rng: Rng, length: number, from = 0): number {
  if (length <= from) return from;
  return from + (rng.chance(0.4) ? rng.int(Math.min(length - from, 256)) : rng.int(length - from));
}

export interface MutateOptions {
  /** Other seeds (any format) to splice from. */
  donors?: readonly Buffer[];
  /** Leave the first `from` bytes alone (e.g. a prefix that a reseal rewrites anyway). */
  from?: number;
  /** Big-endian length fields (PNG, JPEG) besides the little-endian ones. */
  bigEndian?: boolean;
  /** Only mutations that keep the length (flips, bytes, fields): for a blob inside a container. */
  sameLength?: boolean;
}

type Op = (b: Buffer, rng: Rng, o: MutateOptions) => { bytes: Buffer; what: string };

const SAME_LENGTH = new Set(['flip', 'byte', 'field']);
const OPS: Array<[string, number, Op]> = [
  ['flip', 3, (b, rng, o) => {
    const out = Buffer.from(b);
    const n = 1 + rng.int(rng.chance(0.7) ? 2 : 16);
    for (let i = 0; i < n && out.length > 0; i++) out[position(rng, out.length, o.from)] ^= 1 << rng.int(8);
    return { bytes: out, what: `flip ${n} bit(s)` };
  }],
  ['byte', 2, (b, rng, o) => {
    const out = Buffer.from(b);
    const at = position(rng, out.length, o.from);
    if (at < out.length) out[at] = rng.pick(INTERESTING_BYTES);
    return { bytes: out, what: `byte @${at}=${out[at]}` };
  }],
  ['field', 3, (b, rng, o) => {
    // A length-like field: a 2/4/8-byte value between 1 and the file's length, overwritten with a huge, negative or off-by-one value.
    const out = Buffer.from(b);
    const width = rng.pick([2, 4, 4, 8] as const);
    const bigEndian = o.bigEndian ? rng.chance(0.7) : rng.chance(0.1);
    const candidates: number[] = [];
    const start = position(rng, Math.max(0, out.length - width), o.from);
    for (let at = start; at + width <= out.length && at < start + 4096 && candidates.length < 64; at++) {
      const v = readUInt(out, at, width, bigEndian);
      if (v > 0n && v <= BigInt(out.length) && (width === 2 || v > 3n)) candidates.push(at);
    }
    const at = candidates.length > 0 ? rng.pick(candidates) : start;
    if (at + width > out.length) return { bytes: out, what: 'field (file too short)' };
    const value = rng.pick(interestingValues(width, out.length));
    writeUInt(out, at, width, value, bigEndian);
    return { bytes: out, what: `u${width * 8}${bigEndian ? 'be' : 'le'} @${at}=${value}` };
  }],
  ['number', 2, (b, rng, o) => {
    // A run of ASCII digits (a JSON size or offset, a tar octal field) rewritten.
    const start = position(rng, b.length, o.from);
    const text = b.subarray(start, Math.min(b.length, start + 8192)).toString('latin1');
    const runs = [...text.matchAll(/-?\d+/g)];
    if (runs.length === 0) return { bytes: Buffer.from(b), what: 'number (none)' };
    const run = rng.pick(runs);
    const at = start + run.index!;
    const replacement = Buffer.from(rng.pick(NUMBER_TEXTS), 'latin1');
    const keepLength = rng.chance(0.5);
    const body = keepLength ? Buffer.concat([replacement, Buffer.alloc(Math.max(0, run[0].length - replacement.length), 0x30)]).subarray(-run[0].length) : replacement;
    return { bytes: Buffer.concat([b.subarray(0, at), body, b.subarray(at + run[0].length)]), what: `number @${at} ${run[0]}→${body.toString('latin1')}` };
  }],
  ['truncate', 2, (b, rng, o) => {
    const n = rng.chance(0.5) ? Math.max(0, b.length - 1 - rng.int(64)) : position(rng, b.length, o.from);
    return { bytes: Buffer.from(b.subarray(0, n)), what: `truncate to ${n}` };
  }],
  ['insert', 1, (b, rng, o) => {
    const at = position(rng, b.length, o.from);
    const junk = Buffer.alloc(1 + rng.int(64));
    const fill = rng.int(3);
    for (let i = 0; i < junk.length; i++) junk[i] = fill === 0 ? rng.int(256) : fill === 1 ? 0 : 0xff;
    return { bytes: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), what: `insert ${junk.length} @${at}` };
  }],
  ['duplicate', 2, (b, rng, o) => {
    const from = position(rng, b.length, o.from);
    const len = 1 + rng.int(Math.min(512, Math.max(1, b.length - from)));
    const at = position(rng, b.length, o.from);
    const chunk = b.subarray(from, from + len);
    const copies = rng.chance(0.2) ? 1 + rng.int(64) : 1;
    return { bytes: Buffer.concat([b.subarray(0, at), ...Array<Buffer>(copies).fill(chunk), b.subarray(at)]), what: `duplicate ${chunk.length}×${copies} from @${from} to @${at}` };
  }],
  ['delete', 1, (b, rng, o) => {
    const at = position(rng, b.length, o.from);
    const len = 1 + rng.int(Math.min(512, Math.max(1, b.length - at)));
    return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + len)]), what: `delete ${len} @${at}` };
  }],
  ['splice', 1, (b, rng, o) => {
    const donor = o.donors && o.donors.length > 0 && rng.chance(0.5) ? rng.pick(o.donors) : b;
    const at = position(rng, b.length, o.from);
    const from = rng.int(donor.length);
    const len = 1 + rng.int(Math.min(1024, Math.max(1, donor.length - from)));
    const overwrite = rng.chance(0.5);
    const chunk = donor.subarray(from, from + len);
    return { bytes: Buffer.concat([b.subarray(0, at), chunk, b.subarray(overwrite ? at + chunk.length : at)]), what: `splice ${chunk.length} ${overwrite ? 'over' : 'into'} @${at}` };
  }],
];

/** One to a few generic byte mutations. */
export function mutateBytes(input: Buffer, rng: Rng, o: MutateOptions = {}): { bytes: Buffer; ops: string[] } {
  const count = rng.chance(0.5) ? 1 : rng.chance(0.5) ? 2 : 3 + rng.int(6);
  let bytes = input;
  const ops: string[] = [];
  const ops_ = o.sameLength ? OPS.filter(([name]) => SAME_LENGTH.has(name)) : OPS;
  const total = ops_.reduce((a, [, w]) => a + w, 0);
  for (let i = 0; i < count; i++) {
    let r = rng.int(total);
    const op = ops_.find(([, w]) => (r -= w) < 0)!;
    const result = op[2](bytes, rng, o);
    bytes = result.bytes;
    ops.push(result.what);
  }
  return { bytes, ops };
}

// ---- structure-aware mutations and reseals --------------------------------------------------

const HOSTILE_JSON: unknown[] = [null, true, false, -1, 0, 1, 1.5, 1e300, -1e300, 2 ** 31, 2 ** 32, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, '', 'x', 'F32', 'I64', 'BOOL',
  '__proto__', 'constructor', [], {}, [-1], [0], [1e9, 1e9], [2 ** 31, 2 ** 31, 2 ** 31], [0, 2 ** 53], ['a'], [[1]], { a: 1 }, { __proto__: 1 }, 'nonsense'.repeat(1000)];

interface JsonSlot { parent: Record<string, unknown> | unknown[]; key: string | number; depth: number }

/** Every slot of a JSON tree, descending into string values that are themselves JSON (nested manifests). */
function slots(root: unknown, reparse: Map<object, string>): JsonSlot[] {
  const out: JsonSlot[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object') return;
    for (const key of Object.keys(node)) {
      const parent = node as Record<string, unknown>;
      const k = Array.isArray(node) ? Number(key) : key;
      out.push({ parent, key: k, depth });
      let child = parent[key];
      if (typeof child === 'string' && /^\s*[[{]/.test(child)) {
        try {
          child = JSON.parse(child);
          parent[key] = child;
          reparse.set(child as object, key);
        } catch {
          // not JSON after all: a plain string
        }
      }
      walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** Serialises a tree whose nested JSON strings were parsed by `slots`, putting them back as strings. */
function reserialise(node: unknown, reparse: Map<object, string>): unknown {
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(node) ? [] : {};
  for (const [k, v] of Object.entries(node)) {
    let value = reserialise(v, reparse);
    if (v !== null && typeof v === 'object' && reparse.has(v)) value = JSON.stringify(value);
    (copy as Record<string, unknown>)[k] = value;
  }
  return copy;
}

/**
 * One structural change to a JSON document: a value replaced by a hostile one, a sibling's value
 * or a deeply nested array; a key deleted or renamed. Nested JSON strings are reached too.
 */
export function mutateJson(text: string, rng: Rng): { text: string; what: string } | null {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return null;
  }
  const reparse = new Map<object, string>();
  const all = slots(root, reparse);
  if (all.length === 0) return null;
  const slot = rng.pick(all);
  const parent = slot.parent as Record<string | number, unknown>;
  const path = `${slot.key}`;
  const raw = new Map<object, string>();
  let what: string;
  const kind = rng.int(10);
  if (kind < 6) {
    const value = rng.pick(HOSTILE_JSON);
    parent[slot.key] = structuredClone(value);
    what = `json ${path}=${JSON.stringify(value)?.slice(0, 40)}`;
  } else if (kind === 6) {
    const other = rng.pick(all);
    parent[slot.key] = structuredClone((other.parent as Record<string | number, unknown>)[other.key]);
    what = `json ${path}=value of ${other.key}`;
  } else if (kind === 7 && !Array.isArray(parent)) {
    delete parent[slot.key];
    what = `json delete ${path}`;
  } else if (kind === 8 && !Array.isArray(parent)) {
    parent[`${slot.key}_`] = parent[slot.key];
    delete parent[slot.key];
    what = `json rename ${path}`;
  } else {
    const depth = 1000 + rng.int(100_000);
    const marker = { deep: depth };
    parent[slot.key] = marker;
    raw.set(marker, `${'['.repeat(depth)}${']'.repeat(depth)}`);
    what = `json ${path}=[…${depth} deep…]`;
  }
  // A nested document that was a string stays a string; a deep array is spliced in as text.
  let out = JSON.stringify(reserialise(root, reparse));
  for (const [marker, text] of raw) out = out.replace(JSON.stringify(marker), text).replace(JSON.stringify(JSON.stringify(marker)).slice(1, -1), text);
  return { text: out, what };
}

/** The safetensors header of buf as text, with where the data starts; null when the length does not fit. */
export function safetensorsHeader(buf: Buffer): { json: string; dataStart: number } | null {
  if (buf.length < 8) return null;
  const len = buf.readBigUInt64LE(0);
  if (len > BigInt(buf.length - 8)) return null;
  return { json: buf.subarray(8, 8 + Number(len)).toString('utf8'), dataStart: 8 + Number(len) };
}

/** A safetensors buffer with its header JSON mutated structurally (padding and length prefix redone). */
export function mutateSafetensorsHeader(buf: Buffer, rng: Rng): { bytes: Buffer; what: string } | null {
  const h = safetensorsHeader(buf);
  if (!h) return null;
  const m = mutateJson(h.json, rng);
  if (!m) return null;
  let json = m.text;
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return { bytes: Buffer.concat([head, Buffer.from(json), buf.subarray(h.dataStart)]), what: m.what };
}

/**
 * The data of one tensor of a safetensors buffer mutated in place (same length): a blob that some
 * other parser reads (the libtorch archive of an optimizer state, an hnswlib graph). `prefer` names
 * the tensors picked most of the time when present.
 */
export function mutateTensorData(buf: Buffer, rng: Rng, prefer: readonly string[] = []): { bytes: Buffer; what: string } | null {
  const h = safetensorsHeader(buf);
  if (!h) return null;
  let header: Record<string, { data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(h.json);
  } catch {
    return null;
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__' && Array.isArray(header[k]?.data_offsets) && header[k].data_offsets![1] > header[k].data_offsets![0]);
  const preferred = names.filter((n) => prefer.includes(n));
  if (names.length === 0) return null;
  const name = preferred.length > 0 && rng.chance(0.8) ? rng.pick(preferred) : rng.pick(names);
  const [begin, end] = header[name].data_offsets!;
  if (h.dataStart + end > buf.length) return null;
  const out = Buffer.from(buf);
  const m = mutateBytes(out.subarray(h.dataStart + begin, h.dataStart + end), rng, { sameLength: true });
  m.bytes.copy(out, h.dataStart + begin);
  return { bytes: out, what: `tensor ${name}: ${m.ops.join(', ')}` };
}

const FILE_CHECKSUM_MARKER = Buffer.from('"deepmetric.file-sha256":"');
/** Rewrites a checkpoint's whole-file SHA-256 (as src/serialize/safetensors.ts computes it) to match the mutated bytes. */
export function resealCheckpoint(buf: Buffer): Buffer {
  const h = safetensorsHeader(buf);
  if (!h) return buf;
  const at = buf.subarray(0, h.dataStart).lastIndexOf(FILE_CHECKSUM_MARKER);
  if (at < 0 || at + FILE_CHECKSUM_MARKER.length + 64 > h.dataStart) return buf;
  const offset = at + FILE_CHECKSUM_MARKER.length;
  const out = Buffer.from(buf);
  const digest = createHash('sha256').update(out.subarray(0, offset)).update('0'.repeat(64)).update(out.subarray(offset + 64)).digest('hex');
  out.write(digest, offset, 'ascii');
  return out;
}

export const BUNDLE_PREFIX = 56;
/** Rewrites a bundle's payload length and SHA-256 (src/serialize/checked-bundle.ts) to match its payload. */
export function resealBundle(buf: Buffer): Buffer {
  if (buf.length < BUNDLE_PREFIX) return buf;
  const out = Buffer.from(buf);
  out.writeBigUInt64LE(BigInt(out.length - BUNDLE_PREFIX), 16);
  createHash('sha256').update(out.subarray(BUNDLE_PREFIX)).digest().copy(out, 24);
  return out;
}

const SIDES = [0, 1, 2, 3, 8, 16, 31, 32, 33, 255, 256, 4096, 6000, 8192, 16383, 16384, 30000, 65535];
const PNG_ONLY_SIDES = [65536, 100_000, 1 << 20, 2_097_172, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];

/**
 * The width and/or height in a PNG's IHDR or a JPEG's start-of-frame set to a small, large or
 * absurd value (a small file stating a huge image). Null for other files.
 */
export function mutateImageSize(buf: Buffer, rng: Rng): { bytes: Buffer; what: string } | null {
  const out = Buffer.from(buf);
  const pick = (png: boolean): number => rng.pick(png && rng.chance(0.4) ? PNG_ONLY_SIDES : SIDES);
  const which = rng.int(3); // width, height or both
  if (out.length >= 24 && out.toString('latin1', 12, 16) === 'IHDR') {
    const [w, h] = [which !== 1 ? pick(true) : out.readUInt32BE(16), which !== 0 ? pick(true) : out.readUInt32BE(20)];
    out.writeUInt32BE(w, 16);
    out.writeUInt32BE(h, 20);
    return { bytes: out, what: `IHDR ${w}×${h}` };
  }
  for (let at = 2; at + 9 <= out.length; at++) {
    if (out[at] !== 0xff || out[at + 1] < 0xc0 || out[at + 1] > 0xcf || [0xc4, 0xc8, 0xcc].includes(out[at + 1])) continue;
    const [w, h] = [which !== 1 ? pick(false) : out.readUInt16BE(at + 7), which !== 0 ? pick(false) : out.readUInt16BE(at + 5)];
    out.writeUInt16BE(h, at + 5);
    out.writeUInt16BE(w, at + 7);
    return { bytes: out, what: `SOF${out[at + 1] - 0xc0} ${w}×${h}` };
  }
  return null;
}

/** Recomputes the CRC of every PNG chunk that still parses, so that libpng / spng look past it. */
export function resealPng(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let at = 8; at + 12 <= out.length;) {
    const len = out.readUInt32BE(at);
    if (at + 12 + len > out.length) break;
    out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + len)), at + 8 + len);
    at += 12 + len;
  }
  return out;
}

/** Recomputes the checksum of every 512-byte-aligned block that looks like a ustar header. */
export function resealTar(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let at = 0; at + 512 <= out.length; at += 512) {
    if (out.subarray(at + 257, at + 262).toString('latin1') !== 'ustar') continue;
    out.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + 512; i++) sum += out[i];
    out.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
  }
  return out;
}

export { gunzipSync, gzipSync };

// Named tensors in the safetensors format (8-byte header length, JSON header, raw little-endian data),
// readable by Python's safetensors. https://github.com/huggingface/safetensors#format
import { createHash } from 'node:crypto';
import { native } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { readInputFileSync } from '../util/input-file.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', int64: 'I64', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

/** The metadata key of a SHA-256 of the data section only (files written before FILE_CHECKSUM_KEY). */
export const CHECKSUM_KEY = 'deepmetric.sha256';
/**
 * The metadata key of a SHA-256 of the whole file — length prefix, header and data — computed with
 * this value itself written as 64 zeros, so that a flipped bit in the header is caught too.
 */
export const FILE_CHECKSUM_KEY = 'deepmetric.file-sha256';
const PLACEHOLDER = '0'.repeat(64);

/**
 * deepmetric's checked bundles (./checked-bundle.ts) by their 8-byte magic: a safetensors payload
 * behind a 56-byte prefix, whose magic a plain reader would take for a header length.
 */
const BUNDLES = new Map([
  ['DMDETEC1', { what: 'detector', use: 'use --detector' }],
  ['DMINDEX1', { what: 'image index', use: 'use it with `deepmetric search --index`' }],
]);

/** What to say when a file that should be a `expected` starts with a bundle magic; null when it does not. */
export function bundleMismatch(head: Uint8Array, source: string, expected: string): string | null {
  const kind = BUNDLES.get(Buffer.from(head.subarray(0, 8)).toString('latin1'));
  return kind ? `${source} is a deepmetric ${kind.what} file, not a ${expected}; ${kind.use}` : null;
}

/** Where the 64 hex digits of the whole-file checksum sit in the buffer, or -1. */
function fileChecksumOffset(buf: Buffer, headerEnd: number): number {
  const marker = Buffer.from(`"${FILE_CHECKSUM_KEY}":"`);
  const at = buf.subarray(0, headerEnd).lastIndexOf(marker);
  return at < 0 || at + marker.length + 64 > headerEnd ? -1 : at + marker.length;
}

function wholeFileDigest(buf: Buffer, offset: number): string {
  return createHash('sha256').update(buf.subarray(0, offset)).update(PLACEHOLDER).update(buf.subarray(offset + 64)).digest('hex');
}

/**
 * Encodes named tensors (and string metadata) as one safetensors buffer. With checksum, the
 * SHA-256 of the whole file goes into the metadata, and decoding verifies it.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}, opts: { checksum?: boolean } = {}): Buffer {
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof Tensor)) throw new TypeError(`Expected a Tensor for '${name}' but received ${typeof t}`);
    const bytes = Buffer.from(native.toData(t.handle));
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const meta = { ...metadata };
  delete meta[CHECKSUM_KEY];
  delete meta[FILE_CHECKSUM_KEY];
  if (opts.checksum) meta[FILE_CHECKSUM_KEY] = PLACEHOLDER;
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const buf = Buffer.concat([head, Buffer.from(json), ...chunks]);
  if (opts.checksum) {
    const at = fileChecksumOffset(buf, 8 + Buffer.byteLength(json));
    buf.write(wholeFileDigest(buf, at), at, 'ascii');
  }
  return buf;
}

/** tensors[name] = t, as an own property even for the name '__proto__' (an assignment would replace the prototype). */
function setOwn<T>(table: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(table, name, { value, enumerable: true, writable: true, configurable: true });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A header value for a message: short, whatever its depth (a crafted header can nest 100,000 arrays). */
function brief(value: unknown): string {
  if (Array.isArray(value)) return value.length <= 8 && value.every((v) => typeof v === 'number') ? `[${value.join(',')}]` : `an array of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  const s = String(value);
  return typeof value === 'string' ? JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s) : s;
}

/** Decodes a safetensors buffer; `source` names it in errors. Every tensor is copied into libtorch. */
export function decodeSafetensors(buf: Buffer, source = 'buffer'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const bad = (why: string): Error => new Error(`safetensors: ${source} is not a valid safetensors file: ${why}`);
  if (buf.length < 8) throw bad(`it has ${buf.length} bytes, fewer than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.length) throw bad(`header length ${headerLen} exceeds the file (${buf.length} bytes); is it truncated?`);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw bad(`header is ${Array.isArray(header) ? 'an array' : String(header)}, not an object of tensors`);
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const rawMeta = header.__metadata__ ?? {};
  if (!isPlainObject(rawMeta) || Object.values(rawMeta).some((v) => typeof v !== 'string')) throw bad('__metadata__ is not an object of strings');
  const metadata = rawMeta as Record<string, string>;
  const whole = metadata[FILE_CHECKSUM_KEY];
  if (whole !== undefined) {
    const at = fileChecksumOffset(buf, dataStart);
    const actual = at < 0 ? 'missing' : wholeFileDigest(buf, at);
    if (actual !== whole) throw bad(`its header and data checksum does not match (expected ${whole.slice(0, 12)}…, found ${actual.slice(0, 12)}…): the file is corrupted or truncated`);
  }
  const expected = metadata[CHECKSUM_KEY];
  if (expected !== undefined) {
    const actual = createHash('sha256').update(buf.subarray(dataStart)).digest('hex');
    if (actual !== expected) throw bad(`its data checksum does not match (expected ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…): the file is corrupted or truncated`);
  }
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = value as Partial<HeaderEntry> | null;
    const dtype = isPlainObject(e) && typeof e.dtype === 'string' && Object.hasOwn(FROM_ST, e.dtype) ? FROM_ST[e.dtype] : undefined;
    if (!dtype) throw bad(`tensor '${name}' has unsupported dtype ${brief((e as { dtype?: unknown } | null)?.dtype)}`);
    const shape = e!.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`tensor '${name}' has shape ${brief(shape)}, not a list of sizes`);
    const offsets = e!.data_offsets;
    const [begin, end] = Array.isArray(offsets) ? offsets : [];
    const numel = shape.reduce((a, b) => a * b, 1);
    if (!isCount(begin) || !isCount(end) || end > dataLen || end - begin !== numel * BYTES[dtype]) {
      throw bad(`tensor '${name}' has data_offsets [${brief(begin)},${brief(end)}] that do not fit its shape [${shape}] and the ${dataLen} data bytes; is it truncated?`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  // As the format's own reader validates: in offset order, the tensors cover the data exactly, without overlap or hole.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous = '';
  for (const e of sorted) {
    if (e.begin < at) throw bad(`tensor '${e.name}' has data_offsets [${e.begin},${e.end}] that overlap those of tensor '${previous}' (which end at ${at})`);
    if (e.begin > at) throw bad(`data bytes ${at} to ${e.begin} belong to no tensor (a hole before tensor '${e.name}')`);
    at = e.end;
    previous = e.name;
  }
  if (at !== dataLen) throw bad(`its last ${dataLen - at} data bytes belong to no tensor`);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const { name, dtype, shape, begin, end } of entries) {
      // Copy into an aligned buffer: the slice may start at any byte.
      const bytes = new Uint8Array(end - begin);
      bytes.set(buf.subarray(dataStart + begin, dataStart + end));
      try {
        setOwn(tensors, name, new Tensor(native.fromData(bytes, dtype, shape)));
      } catch (e) {
        throw new Error(`safetensors: ${source}: cannot create tensor '${name}' [${shape}] (${bytes.length} bytes): ${(e as Error).message}`);
      }
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

/** Writes named tensors to path atomically. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}, opts: { checksum?: boolean } = {}): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata, opts));
}

/**
 * Reads a safetensors file, through the guarded open (a regular file, read up to the input limit).
 * `what` names the file in messages ("checkpoint").
 */
export function loadSafetensors(path: string, opts: { what?: string } = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const what = opts.what ?? 'safetensors file';
  const buf = readInputFileSync(path, { what });
  const bundle = bundleMismatch(buf, path, what);
  if (bundle) throw new Error(`safetensors: ${bundle}`);
  return decodeSafetensors(buf, path);
}

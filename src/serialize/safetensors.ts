// Named tensors in the safetensors format (8-byte header length, JSON header, raw little-endian data),
// readable by Python's safetensors. https://github.com/huggingface/safetensors#format
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { native } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', int64: 'I64', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

/** The metadata key under which the SHA-256 of the data section is stored, when asked for. */
export const CHECKSUM_KEY = 'deepmetric.sha256';

/**
 * Encodes named tensors (and string metadata) as one safetensors buffer. With checksum, the
 * SHA-256 of the data section goes into the metadata, and decoding verifies it.
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
  if (opts.checksum) {
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c);
    meta[CHECKSUM_KEY] = hash.digest('hex');
  }
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...chunks]);
}

/** Decodes a safetensors buffer; `source` names it in errors. Every tensor is copied into libtorch. */
export function decodeSafetensors(buf: Buffer, source = 'buffer'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const bad = (why: string): Error => new Error(`safetensors: ${source} is not a valid safetensors file: ${why}`);
  if (buf.length < 8) throw bad(`it has ${buf.length} bytes, fewer than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.length) throw bad(`header length ${headerLen} exceeds the file (${buf.length} bytes); is it truncated?`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const expected = metadata[CHECKSUM_KEY];
  if (expected !== undefined) {
    const actual = createHash('sha256').update(buf.subarray(dataStart)).digest('hex');
    if (actual !== expected) throw bad(`its data checksum does not match (expected ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…): the file is corrupted or truncated`);
  }
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const e = value as HeaderEntry;
      const dtype = FROM_ST[e?.dtype];
      if (!dtype) throw bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(e?.dtype)}`);
      const [begin, end] = e.data_offsets ?? [];
      const numel = (e.shape ?? []).reduce((a, b) => a * b, 1);
      if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLen || end - begin !== numel * BYTES[dtype]) {
        throw bad(`tensor '${name}' has data_offsets [${begin},${end}] that do not fit its shape [${e.shape}] and the ${dataLen} data bytes; is it truncated?`);
      }
      // Copy into an aligned buffer: the slice may start at any byte.
      const bytes = new Uint8Array(end - begin);
      bytes.set(buf.subarray(dataStart + begin, dataStart + end));
      tensors[name] = new Tensor(native.fromData(bytes, dtype, e.shape));
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

export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`safetensors: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(buf, path);
}

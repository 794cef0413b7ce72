// A safetensors payload behind a fixed 56-byte prefix that names the kind of file and checksums
// everything after it, so a flipped bit anywhere — tensor header, manifest or data — is caught:
//   0   8 bytes  magic, e.g. "DMDETEC1" (detector) or "DMINDEX1" (image index)
//   8   4 bytes  u32 LE container version (1)
//   12  4 bytes  u32 LE reserved (0)
//   16  8 bytes  u64 LE payload length P; the file is exactly 56 + P bytes
//   24  32 bytes SHA-256 of the payload
//   56  P bytes  a standard safetensors file; its __metadata__.manifest is the JSON manifest
// Any safetensors reader opens the payload after skipping the first 56 bytes.
// The checksum is unkeyed (anyone can edit a file and checksum it again), so a manifest is as
// untrusted as the file: the checks at the end bound what loading may build from one.
import { createHash } from 'node:crypto';
import type { Tensor } from '../tensor/tensor.js';
import { describe } from '../tensor/checks.js';
import { checkPreprocessing, type Preprocessing } from '../data/preprocessing.js';
import type { BackboneSpec } from '../models/registry.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { jsonText } from '../util/json-text.js';
import { readInputFileSync } from '../util/input-file.js';

export const BUNDLE_PREFIX_BYTES = 56;
const VERSION = 1;
const MANIFEST_KEY = 'manifest';

/** The kinds of bundle deepmetric writes: magic bytes, what the file is called in messages, and the command that writes it. */
export interface BundleKind {
  magic: string;
  what: string;
  writtenBy: string;
}

const KNOWN: BundleKind[] = [];

/** Declares a bundle kind (so that opening one kind as another says what the file is). */
export function bundleKind(kind: BundleKind): BundleKind {
  if (Buffer.byteLength(kind.magic, 'ascii') !== 8) throw new TypeError(`Expected 8 ASCII characters for a bundle magic but received '${kind.magic}'`);
  KNOWN.push(kind);
  return kind;
}

/** The whole file as one buffer: prefix + safetensors(tensors, { manifest }). */
export function encodeBundle(kind: BundleKind, tensors: Record<string, Tensor>, manifest: unknown): Buffer {
  const payload = encodeSafetensors(tensors, { [MANIFEST_KEY]: jsonText(manifest, `the ${kind.what}'s manifest`) });
  return Buffer.concat([bundlePrefix(kind, payload), payload]);
}

function bundlePrefix(kind: BundleKind, payload: Buffer): Buffer {
  const prefix = Buffer.alloc(BUNDLE_PREFIX_BYTES);
  prefix.write(kind.magic, 0, 'ascii');
  prefix.writeUInt32LE(VERSION, 8);
  prefix.writeBigUInt64LE(BigInt(payload.length), 16);
  createHash('sha256').update(payload).digest().copy(prefix, 24);
  return prefix;
}

/** Writes atomically: a reader sees the old file or the whole new one. */
export async function writeBundle(path: string, kind: BundleKind, tensors: Record<string, Tensor>, manifest: unknown): Promise<void> {
  await writeFileAtomic(path, encodeBundle(kind, tensors, manifest));
}

export interface DecodedBundle<M> {
  tensors: Record<string, Tensor>;
  manifest: M;
  /** The file's bytes, for writing an identical copy. */
  bytes: Buffer;
}

/**
 * Reads and verifies a bundle; every way a file can be wrong is an Error that names the file and
 * the cause. Only regular files are read (a FIFO or /dev/zero is refused, never waited on).
 */
export function readBundle<M>(path: string, kind: BundleKind): DecodedBundle<M> {
  let bytes: Buffer;
  try {
    bytes = readInputFileSync(path);
  } catch (e) {
    throw new Error(`${kind.what}: ${(e as Error).message}`);
  }
  return decodeBundle<M>(bytes, kind, path);
}

export function decodeBundle<M>(bytes: Buffer, kind: BundleKind, source: string): DecodedBundle<M> {
  const fail = (why: string): never => {
    throw new Error(`${kind.what}: ${source} ${why}`);
  };
  const magic = bytes.subarray(0, 8).toString('latin1');
  if (bytes.length < 8 || magic !== kind.magic) {
    const other = KNOWN.find((k) => k.magic === magic);
    if (other) fail(`is a deepmetric ${other.what} file, not a ${kind.what} file (written by ${other.writtenBy})`);
    fail(`is not a deepmetric ${kind.what} file: it does not start with '${kind.magic}' (${kind.what} files are written by ${kind.writtenBy})`);
  }
  if (bytes.length < BUNDLE_PREFIX_BYTES) fail(`is truncated: ${bytes.length} bytes, fewer than the ${BUNDLE_PREFIX_BYTES}-byte header`);
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) fail(`has container version ${version}; this deepmetric reads version ${VERSION} (written by a newer deepmetric, or damaged)`);
  const length = bytes.readBigUInt64LE(16);
  const actual = BigInt(bytes.length - BUNDLE_PREFIX_BYTES);
  if (length !== actual) {
    fail(length > actual
      ? `is truncated: its header announces ${length} bytes after the header but the file holds ${actual}`
      : `has ${actual - length} bytes more than its header announces (${length}): damaged or appended to`);
  }
  const payload = bytes.subarray(BUNDLE_PREFIX_BYTES);
  const expected = bytes.subarray(24, 56);
  const found = createHash('sha256').update(payload).digest();
  if (!found.equals(expected)) {
    fail(`is damaged: its SHA-256 checksum does not match (expected ${expected.toString('hex').slice(0, 12)}…, found ${found.toString('hex').slice(0, 12)}…)`);
  }
  const { tensors, metadata } = decodeSafetensors(payload, source);
  let manifest: M;
  try {
    manifest = JSON.parse(metadata[MANIFEST_KEY] ?? 'null') as M;
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    return fail(`has an unreadable manifest: ${(e as Error).message}`);
  }
  if (manifest === null || typeof manifest !== 'object') {
    for (const t of Object.values(tensors)) t.dispose();
    fail('holds no manifest');
  }
  return { tensors, manifest, bytes };
}

/** The largest image side a manifest may ask for: a model takes a few hundred pixels; a 30000×30000 preprocessing made scoring allocate until OOM. */
export const MAX_IMAGE_SIDE = 4096;

/** A manifest's preprocessing, checked and within MAX_IMAGE_SIDE; `source` names the file in errors. */
export function checkManifestPreprocessing(p: unknown, source: string): Preprocessing {
  const r = checkPreprocessing(p, source);
  for (const side of ['width', 'height'] as const) {
    if (r[side] > MAX_IMAGE_SIDE) throw new RangeError(`${source}: Expected field preprocessing.${side} of at most ${MAX_IMAGE_SIDE} pixels but received ${r[side]}`);
  }
  return r;
}

/**
 * Checks the fields of a manifest's backbone spec (at `field`) that size what building the network
 * allocates before any stored weight is read: a projection must be as wide as the stored
 * embeddings (`dim`), the input channels those of the preprocessing.
 */
export function checkManifestBackbone(spec: unknown, field: string, dim: number, channels: number, source: string): BackboneSpec {
  const s = spec as BackboneSpec;
  if (s === null || typeof s !== 'object' || typeof s.name !== 'string') throw new TypeError(`${source}: Expected field ${field} to be a backbone spec {name, …} but received ${describe(spec)}`);
  if (s.projectionDim && s.projectionDim !== dim) {
    throw new RangeError(`${source}: Expected field ${field}.projectionDim to be ${dim} (the width of the stored embeddings) but received ${describe(s.projectionDim)}`);
  }
  if (s.inChannels !== undefined && s.inChannels !== channels) {
    throw new RangeError(`${source}: Expected field ${field}.inChannels to be ${channels} (the preprocessing's channels) but received ${describe(s.inChannels)}`);
  }
  return s;
}

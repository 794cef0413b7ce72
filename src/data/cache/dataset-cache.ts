// A compact on-disk form of a decoded ImageDataset, so that decoding 60,000 JPEGs happens once and
// later runs start in about a second. Layout (little-endian):
//   0   8 bytes  magic "DMCACHE1"
//   8   4 bytes  header length L
//   12  L bytes  header JSON {count, height, width, channels, classes, source}
//   ..  pad to a multiple of 4, then count int32 labels, then count*H*W*C pixel bytes
//   end 20 bytes SHA-1 of everything before it
// Files are written to a temporary name and renamed, so a crash never leaves a half-written cache;
// the size and digest checks catch files damaged later.

import { InputFileError, openInputFile } from '../../util/input-file.js';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DataFileError } from '../data-error.js';
import { sharedBytes, validateDataset, type ImageDataset } from '../dataset.js';

const MAGIC = Buffer.from('DMCACHE1', 'ascii');
export const CACHE_DIGEST = 'sha1';
const DIGEST = CACHE_DIGEST;
export const CACHE_DIGEST_BYTES = 20;
const DIGEST_BYTES = CACHE_DIGEST_BYTES;
const CHUNK = 1 << 24;

export interface CacheHeader {
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: string[];
  source?: string;
  /** Each image's source file, when the dataset had them. */
  files?: string[];
}

/** `DEEPMETRIC_CACHE`, else `.cache/deepmetric` under the working directory. */
export function defaultCacheDir(): string {
  return resolve(process.env.DEEPMETRIC_CACHE || join(process.cwd(), '.cache', 'deepmetric'));
}

/** A short stable key from the facts that identify a source (path, size, mtime, options). */
export function cacheKey(parts: readonly (string | number | boolean | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function padTo4(n: number): number {
  return (n + 3) & ~3;
}

export async function writeDatasetCache(file: string, dataset: ImageDataset, source?: string): Promise<void> {
  validateDataset(dataset, file);
  const header: CacheHeader = {
    count: dataset.labels.length,
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
    classes: dataset.classes,
    source,
    ...(dataset.files ? { files: dataset.files } : {}),
  };
  const prefix = encodeCacheHeader(header);
  const labels = Buffer.alloc(dataset.labels.length * 4);
  for (const [i, label] of dataset.labels.entries()) labels.writeInt32LE(label, i * 4);

  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash(DIGEST);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  trackTemporary(temporary);
  try {
    await mkdir(dirname(file), { recursive: true });
    handle = await open(temporary, 'w');
    const parts: Uint8Array[] = [prefix, labels];
    for (let offset = 0; offset < dataset.images.length; offset += CHUNK) {
      parts.push(dataset.images.subarray(offset, Math.min(dataset.images.length, offset + CHUNK)));
    }
    for (const part of parts) {
      hash.update(part);
      await handle.write(part);
    }
    await handle.write(hash.digest());
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, file);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temporary, { force: true });
    throw new DataFileError(file, `cannot write dataset cache (${(error as Error).message})`, { cause: error });
  } finally {
    inFlight.delete(temporary);
  }
}

/**
 * Writes the cache, or warns and goes on when it cannot be written (a full disk, a read-only
 * cache folder): the dataset is in memory, so the run continues without the cache. Returns
 * whether the cache was written.
 */
export async function tryWriteDatasetCache(file: string, dataset: ImageDataset, source?: string): Promise<boolean> {
  try {
    await writeDatasetCache(file, dataset, source);
    return true;
  } catch (error) {
    if (!isCacheWriteError(error)) throw error;
    process.emitWarning(`${error.message}; continuing with the dataset in memory (it will be decoded again next time)`, { code: 'DEEPMETRIC_CACHE_WRITE' });
    return false;
  }
}

/** Storage failures (full disk, quota, read-only or unwritable folder, I/O error) as opposed to bad data. */
const STORAGE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EFBIG', 'ENOTDIR', 'EEXIST']);

/** Whether `error` is a cache file that could not be written for lack of room or rights: the data itself is fine. */
export function isCacheWriteError(error: unknown): error is DataFileError {
  const code = (error as { cause?: { code?: unknown } })?.cause?.code;
  return error instanceof DataFileError && /cannot (write|create|open) dataset cache/.test(error.message) && (typeof code !== 'string' || STORAGE_ERRORS.has(code));
}

/** Cache files being written, removed if the process exits mid-write (e.g. Ctrl-C while decoding). */
const inFlight = new Set<string>();
let exitHookInstalled = false;

function trackTemporary(file: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const f of inFlight) rmSync(f, { force: true });
    });
  }
  inFlight.add(file);
}

/**
 * Facts that change whenever any file under `root` changes — every file's relative path, size and
 * modification time — hashed into a short key. Overwriting one image in place changes its mtime
 * (a folder's mtime changes only when entries are added or removed). Costs one stat per file.
 */
export async function folderIdentity(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (folder: string, rel: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const files: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) await walk(join(folder, entry.name), `${rel}${entry.name}/`);
      else files.push(entry.name);
    }
    // Stats of one folder in parallel: a folder of 5,000 images costs a few milliseconds.
    const stats = await Promise.all(files.map((name) => stat(join(folder, name)).catch(() => undefined)));
    for (const [i, name] of files.entries()) hash.update(`${rel}${name}\0${stats[i]?.size ?? -1}\0${stats[i]?.mtimeMs ?? -1}\n`);
  };
  await walk(root, '');
  return hash.digest('hex').slice(0, 32);
}

/** Where a cache file's parts lie, read from its header; shared by the in-memory and streaming readers. */
export interface CacheLayout {
  header: CacheHeader;
  size: number;
  prefixLength: number;
  labelOffset: number;
  pixelOffset: number;
  pixelBytes: number;
}

export function corruptCache(file: string, why: string): DataFileError {
  return new DataFileError(file, `corrupt dataset cache: ${why}`);
}

/** Reads and checks the header of an open cache file (not its checksum). */
export async function readCacheLayout(handle: FileHandle, file: string): Promise<CacheLayout> {
  const { size } = await handle.stat();
  const corrupt = (why: string) => corruptCache(file, why);
  const start = Buffer.alloc(12);
  if (size < 12 + DIGEST_BYTES || (await handle.read(start, 0, 12, 0)).bytesRead !== 12) throw corrupt('file too short');
  if (!start.subarray(0, 8).equals(MAGIC)) throw corrupt('wrong magic bytes (not a deepmetric cache)');
  const jsonLength = start.readUInt32LE(8);
  if (12 + jsonLength > size) throw corrupt('header longer than the file');
  const json = Buffer.alloc(jsonLength);
  await handle.read(json, 0, jsonLength, 12);
  let header: CacheHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as CacheHeader;
  } catch {
    throw corrupt('unreadable header');
  }
  const { count, height, width, channels, classes } = header;
  if (![count, height, width, channels].every((v) => Number.isInteger(v) && v >= 0) || !Array.isArray(classes)) {
    throw corrupt('invalid header fields');
  }
  const prefixLength = padTo4(12 + jsonLength);
  const pixelBytes = count * height * width * channels;
  const expected = prefixLength + count * 4 + pixelBytes + DIGEST_BYTES;
  if (size !== expected) throw corrupt(`size ${size} bytes, expected ${expected} (truncated or overwritten)`);
  return { header, size, prefixLength, labelOffset: prefixLength, pixelOffset: prefixLength + count * 4, pixelBytes };
}

/** The 8 magic bytes, a length and the JSON header, padded so the int32 labels that follow are aligned. */
export function encodeCacheHeader(header: CacheHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(padTo4(12 + json.length));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  return prefix;
}

/** Reads and verifies a cache file; any damage is a DataFileError naming it. */
export async function readDatasetCache(file: string): Promise<ImageDataset> {
  const { handle } = await openInputFile(file, { what: 'dataset cache', maxBytes: Number.MAX_SAFE_INTEGER }).catch((error: Error) => {
    throw new DataFileError(file, `cannot open dataset cache (${error instanceof InputFileError ? error.reason : error.message})`, { cause: error });
  });
  try {
    const { header, size, prefixLength, pixelBytes } = await readCacheLayout(handle, file);
    const { count, height, width, channels, classes } = header;
    const corrupt = (why: string) => corruptCache(file, why);

    const hash = createHash(DIGEST);
    const prefix = Buffer.alloc(prefixLength);
    await handle.read(prefix, 0, prefixLength, 0);
    hash.update(prefix);
    const labelBytes = Buffer.alloc(count * 4);
    await handle.read(labelBytes, 0, labelBytes.length, prefixLength);
    hash.update(labelBytes);
    const images = sharedBytes(pixelBytes);
    for (let offset = 0; offset < pixelBytes; ) {
      const length = Math.min(CHUNK, pixelBytes - offset);
      const { bytesRead } = await handle.read(images, offset, length, prefixLength + count * 4 + offset);
      if (bytesRead === 0) throw corrupt('file ended early');
      hash.update(images.subarray(offset, offset + bytesRead));
      offset += bytesRead;
    }
    const digest = Buffer.alloc(DIGEST_BYTES);
    await handle.read(digest, 0, DIGEST_BYTES, size - DIGEST_BYTES);
    if (!hash.digest().equals(digest)) throw corrupt('checksum mismatch (damaged contents)');

    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) labels[i] = labelBytes.readInt32LE(i * 4);
    const files = Array.isArray(header.files) && header.files.length === count ? header.files : undefined;
    return validateDataset({ images, labels, height, width, channels, classes, ...(files ? { files } : {}) }, file);
  } finally {
    await handle.close();
  }
}

/**
 * The dataset from `file` when it is a valid cache; otherwise builds it, writes the cache and
 * returns it. A damaged cache is reported as a warning and replaced.
 */
export async function cachedDataset(file: string, build: () => Promise<ImageDataset>, source?: string): Promise<ImageDataset> {
  const exists = await stat(file).then(() => true, () => false);
  if (exists) {
    try {
      return await readDatasetCache(file);
    } catch (error) {
      process.emitWarning(`${(error as Error).message}; rebuilding it`, { code: 'DEEPMETRIC_CACHE_REBUILD' });
      await rm(file, { force: true });
    }
  }
  const dataset = await build();
  await tryWriteDatasetCache(file, dataset, source);
  return dataset;
}

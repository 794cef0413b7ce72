// The dataset-cache file used without loading it: `openDatasetCache` checks it and returns a
// file-backed dataset (labels in memory, pixels read on demand), and `DatasetCacheWriter` writes
// one image batch at a time, so neither side ever holds all the pixels.

import { InputFileError, openInputFile } from '../../util/input-file.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkInt } from '../../tensor/checks.js';
import { DataFileError } from '../data-error.js';
import { CACHE_DIGEST, CACHE_DIGEST_BYTES, corruptCache, encodeCacheHeader, readCacheLayout, type CacheHeader } from './dataset-cache.js';
import type { FileImageDataset } from './file-image-dataset.js';

const CHUNK = 1 << 23;

/** SHA-1 of bytes [0, end) of an open file, read in chunks. */
async function hashPrefix(handle: FileHandle, end: number): Promise<Buffer> {
  const hash = createHash(CACHE_DIGEST);
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let offset = 0; offset < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, end - offset), offset);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    offset += bytesRead;
  }
  return hash.digest();
}

export interface OpenCacheOptions {
  /** Check the SHA-1 of the whole file first (one sequential read; default true). */
  verify?: boolean;
}

/** A cache file as a file-backed dataset; damage is a DataFileError naming the file. */
export async function openDatasetCache(file: string, options: OpenCacheOptions = {}): Promise<FileImageDataset> {
  const { handle } = await openInputFile(file, { what: 'dataset cache', maxBytes: Number.MAX_SAFE_INTEGER }).catch((error: Error) => {
    throw new DataFileError(file, `cannot open dataset cache (${error instanceof InputFileError ? error.reason : error.message})`, { cause: error });
  });
  try {
    const layout = await readCacheLayout(handle, file);
    const { count, height, width, channels, classes } = layout.header;
    if (options.verify ?? true) {
      const digest = Buffer.alloc(CACHE_DIGEST_BYTES);
      await handle.read(digest, 0, CACHE_DIGEST_BYTES, layout.size - CACHE_DIGEST_BYTES);
      if (!(await hashPrefix(handle, layout.size - CACHE_DIGEST_BYTES)).equals(digest)) throw corruptCache(file, 'checksum mismatch (damaged contents)');
    }
    const labelBytes = Buffer.alloc(count * 4);
    await handle.read(labelBytes, 0, labelBytes.length, layout.labelOffset);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = labelBytes.readInt32LE(i * 4);
      if (labels[i] < 0 || labels[i] >= classes.length) throw corruptCache(file, `label ${labels[i]} of image ${i} is outside 0..${classes.length - 1}`);
    }
    const files = Array.isArray(layout.header.files) && layout.header.files.length === count ? layout.header.files : undefined;
    return {
      storage: 'file', file, pixelOffset: layout.pixelOffset, rows: Int32Array.from({ length: count }, (_, i) => i),
      labels, height, width, channels, classes, ...(files ? { files } : {}),
    };
  } finally {
    await handle.close();
  }
}

/**
 * Writes a cache file of a known number of images, appended in order. Labels sit before the
 * pixels in the format, so they are written into their reserved place at the end, and the
 * checksum is computed by reading the finished file back once.
 */
export class DatasetCacheWriter {
  private written = 0;
  private readonly labels: Int32Array;
  private readonly perImage: number;
  /** Records placed by writeAt, which may arrive in any order. */
  private placed: Uint8Array | undefined;

  private constructor(
    readonly file: string,
    private readonly temporary: string,
    private readonly handle: FileHandle,
    private readonly header: CacheHeader,
    private readonly pixelOffset: number,
  ) {
    this.labels = new Int32Array(header.count);
    this.perImage = header.height * header.width * header.channels;
  }

  /** With `labels`, images may then be written in any order with writeAt. */
  static async create(file: string, header: CacheHeader, labels?: Int32Array): Promise<DatasetCacheWriter> {
    checkInt(header.count, 'count', 0);
    for (const name of ['height', 'width', 'channels'] as const) checkInt(header[name], name, 1);
    const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const prefix = encodeCacheHeader(header);
    let handle: FileHandle | undefined;
    try {
      await mkdir(dirname(file), { recursive: true });
      // Read back at the end for the checksum, hence 'w+'.
      handle = await open(temporary, 'w+');
      await handle.write(prefix, 0, prefix.length, 0);
    } catch (error) {
      await handle?.close().catch(() => {});
      await rm(temporary, { force: true }).catch(() => {});
      // The errno (e.g. ENOSPC, EROFS) stays reachable as error.cause.code.
      throw new DataFileError(file, `cannot create dataset cache (${(error as Error).message})`, { cause: error });
    }
    const writer = new DatasetCacheWriter(file, temporary, handle, header, prefix.length + header.count * 4);
    if (labels) {
      try {
        if (labels.length !== header.count) throw new RangeError(`Expected ${header.count} labels but received ${labels.length}`);
        for (const label of labels) checkInt(label, 'label', 0, header.classes.length - 1);
      } catch (error) {
        await writer.abort();
        throw error;
      }
      writer.labels.set(labels);
    }
    return writer;
  }

  /** Appends images (NHWC bytes) and their labels. */
  async append(pixels: Uint8Array, labels: ArrayLike<number>): Promise<void> {
    const n = labels.length;
    if (pixels.length !== n * this.perImage) {
      throw new RangeError(`Expected ${n * this.perImage} pixel bytes for ${n} images but received ${pixels.length}`);
    }
    if (this.written + n > this.header.count) {
      throw new RangeError(`Expected at most ${this.header.count} images in ${this.file} but received ${this.written + n}`);
    }
    for (let i = 0; i < n; i++) {
      checkInt(labels[i], 'label', 0, this.header.classes.length - 1);
      this.labels[this.written + i] = labels[i];
    }
    const position = this.pixelOffset + this.written * this.perImage;
    for (let done = 0; done < pixels.length; ) {
      const { bytesWritten } = await this.handle.write(pixels, done, pixels.length - done, position + done);
      done += bytesWritten;
    }
    this.written += n;
  }

  /**
   * Writes one image at its final position, for images decoded out of order; `labels` must have
   * been given to create(). Not to be mixed with append().
   */
  async writeAt(index: number, pixels: Uint8Array): Promise<void> {
    checkInt(index, 'index', 0, this.header.count - 1);
    if (pixels.length !== this.perImage) throw new RangeError(`Expected ${this.perImage} pixel bytes for one image but received ${pixels.length}`);
    this.placed ??= new Uint8Array(this.header.count);
    if (this.placed[index]) throw new RangeError(`Image ${index} of ${this.file} was written twice`);
    this.placed[index] = 1;
    const position = this.pixelOffset + index * this.perImage;
    try {
      for (let done = 0; done < pixels.length; ) {
        const { bytesWritten } = await this.handle.write(pixels, done, pixels.length - done, position + done);
        done += bytesWritten;
      }
    } catch (error) {
      // The errno (e.g. ENOSPC) stays reachable as error.cause.code.
      throw new DataFileError(this.file, `cannot write dataset cache (${(error as Error).message})`, { cause: error });
    }
    this.written++;
  }

  /** Writes labels and checksum, syncs and renames into place. */
  async finish(): Promise<void> {
    try {
      if (this.written !== this.header.count) throw new RangeError(`Expected ${this.header.count} images but ${this.written} were appended`);
      const labelBytes = Buffer.from(this.labels.buffer, this.labels.byteOffset, this.labels.byteLength);
      // The format is little-endian; so is every platform Node supports today.
      await this.handle.write(labelBytes, 0, labelBytes.length, this.pixelOffset - labelBytes.length);
      const end = this.pixelOffset + this.written * this.perImage;
      const digest = await hashPrefix(this.handle, end);
      await this.handle.write(digest, 0, digest.length, end);
      await this.handle.sync();
      await this.handle.close();
      await rename(this.temporary, this.file);
    } catch (error) {
      await this.abort();
      if (error instanceof RangeError) throw error;
      throw new DataFileError(this.file, `cannot write dataset cache (${(error as Error).message})`, { cause: error });
    }
  }

  /** Drops the unfinished file. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.temporary, { force: true });
  }
}

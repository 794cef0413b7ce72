// A small streaming reader for tar archives (plain or gzip-compressed), enough for dataset
// archives: ustar headers in 512-byte blocks, GNU long names ('L') and pax extended headers ('x').
// Entries are yielded one at a time so a 60,000-file archive never sits whole in memory; entries
// the caller does not select are streamed past without being buffered, and a file entry over a
// size cap is refused before it is read (a small .tar.gz can expand to gigabytes).

import type { FileHandle } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataFileError } from '../data-error.js';
import { InputFileError, openInputFile } from '../../util/input-file.js';

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** Contents of a file entry; empty for other types and for file entries a `select` option skipped. */
  data: Buffer;
  /** True for a file entry whose contents were skipped (not selected): `data` is empty. */
  skipped?: boolean;
}

/** Hands out exactly n bytes at a time from a stream of chunks of any size. */
class ByteQueue {
  private readonly chunks: Buffer[] = [];
  private head = 0;
  private available = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly n bytes, or fewer only when the stream ended first (empty at a clean end). */
  async read(n: number): Promise<Buffer> {
    while (this.available < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
      } else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.available += next.value.length;
      }
    }
    const take = Math.min(n, this.available);
    const first = this.chunks[0];
    if (take > 0 && first.length - this.head >= take) {
      const out = first.subarray(this.head, this.head + take);
      this.consume(take);
      return out;
    }
    const out = Buffer.allocUnsafe(take);
    let filled = 0;
    while (filled < take) {
      const chunk = this.chunks[0];
      const count = Math.min(take - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + count);
      filled += count;
      this.consume(count);
    }
    return out;
  }

  /** Discards n bytes without holding more than one chunk; returns how many were there. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.available === 0) {
        if (this.ended) break;
        const next = await this.source.next();
        if (next.done) {
          this.ended = true;
          break;
        }
        if (next.value.length === 0) continue;
        this.chunks.push(next.value);
        this.available += next.value.length;
      }
      const count = Math.min(n - skipped, this.chunks[0].length - this.head);
      this.consume(count);
      skipped += count;
    }
    return skipped;
  }

  private consume(count: number): void {
    this.head += count;
    this.available -= count;
    if (this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}

function readString(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

/** Octal as ustar writes it, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function readNumber(block: Buffer, offset: number, length: number): number {
  if (block[offset] & 0x80) {
    let value = block[offset] & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + block[i];
    return value;
  }
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return parseInt(text, 8);
}

function headerChecksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** pax records: "<length> <key>=<value>\n" repeated. */
function parsePax(data: Buffer, file: string): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? Number.NaN : parseInt(data.toString('ascii', offset, space), 10);
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      throw new DataFileError(file, `corrupt tar archive: malformed pax header record at byte ${offset}`);
    }
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

function normalisePath(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * 512 MiB: more than any dataset file in practice (CIFAR-100's train.bin is 150 MB, MNIST's
 * training images 47 MB), far less than an archive bomb's multi-GB entry.
 */
export const DEFAULT_MAX_TAR_ENTRY_BYTES = 512 * 1024 * 1024;
/** Long names and pax headers are a few hundred bytes; a larger one is not a real archive. */
const MAX_METADATA_ENTRY_BYTES = 1024 * 1024;

export interface TarReadOptions {
  /**
   * Which file entries to read. The others are streamed past without being buffered (a huge entry
   * the caller does not want costs only the time to read past it) and yielded with `skipped` set
   * and empty `data`, so listings still see them.
   */
  select?: (entry: { path: string; size: number }) => boolean;
  /** File entries larger than this are refused before being read (default DEFAULT_MAX_TAR_ENTRY_BYTES). */
  maxEntryBytes?: number;
}

/** Refuses a file entry over the cap before any of it is read; shared with the zip reader. */
export function checkEntrySize(file: string, path: string, size: number, maxEntryBytes = DEFAULT_MAX_TAR_ENTRY_BYTES): void {
  if (size > maxEntryBytes) {
    throw new DataFileError(file, `entry ${path} is ${formatBytes(size)}, over the limit of ${formatBytes(maxEntryBytes)} for one entry ` +
      '(an archive bomb, or a file that does not belong in a dataset archive)');
  }
}

const formatBytes = (n: number): string => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

/**
 * Tar entries from a stream of uncompressed tar bytes; `file` names the archive in errors.
 */
export async function* readTarEntries(chunks: AsyncIterable<Buffer>, file: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_TAR_ENTRY_BYTES;
  const queue = new ByteQueue(chunks[Symbol.asyncIterator]());
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  let position = 0;
  for (;;) {
    const header = await queue.read(BLOCK);
    if (header.length === 0) {
      // Some writers omit the two zero blocks that end an archive; a clean end at a block boundary is accepted.
      if (longName !== undefined || pax !== undefined) {
        throw new DataFileError(file, 'truncated tar archive: it ends after an extended header');
      }
      return;
    }
    if (position === 0 && (header.length < BLOCK || (!isZeroBlock(header) && !headerChecksumMatches(header)))) {
      throw new DataFileError(file, `not a tar or tar.gz archive: it does not start with a tar header (${header.length} bytes: ${JSON.stringify(header.toString('latin1', 0, 24))}…)`);
    }
    if (header.length < BLOCK) {
      throw new DataFileError(file, `truncated tar archive: it ends inside a header at byte ${position}`);
    }
    if (isZeroBlock(header)) return;
    if (!headerChecksumMatches(header)) {
      throw new DataFileError(file, `corrupt tar archive: header checksum mismatch at byte ${position}`);
    }
    const typeFlag = String.fromCharCode(header[156]);
    const headerSize = readNumber(header, 124, 12);
    if (!Number.isSafeInteger(headerSize) || headerSize < 0) {
      throw new DataFileError(file, `corrupt tar archive: invalid entry size at byte ${position}`);
    }
    let size = headerSize;
    if (pax?.has('size') && typeFlag !== 'x' && typeFlag !== 'L') size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new DataFileError(file, `corrupt tar archive: invalid entry size at byte ${position}`);
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const entryStart = position;
    position += BLOCK + padded;
    const readBody = async (): Promise<Buffer> => {
      const body = await queue.read(padded);
      if (body.length < padded) {
        throw new DataFileError(file, `truncated tar archive: entry at byte ${entryStart} needs ${size} bytes but the archive ends`);
      }
      return body.subarray(0, size);
    };
    const skipBody = async (): Promise<void> => {
      if ((await queue.skip(padded)) < padded) {
        throw new DataFileError(file, `truncated tar archive: entry at byte ${entryStart} needs ${size} bytes but the archive ends`);
      }
    };

    if (typeFlag === 'L' || typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'K') {
      if (size > MAX_METADATA_ENTRY_BYTES) {
        throw new DataFileError(file, `corrupt tar archive: extended header at byte ${entryStart} claims ${formatBytes(size)}`);
      }
      const data = await readBody();
      if (typeFlag === 'L') longName = readString(data, 0, data.length);
      if (typeFlag === 'x') pax = parsePax(data, file);
      continue;
    }

    let path = readString(header, 0, 100);
    const magic = header.toString('ascii', 257, 262);
    if (magic === 'ustar') {
      const prefix = readString(header, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    if (longName !== undefined) path = longName;
    if (pax?.has('path')) path = pax.get('path')!;
    longName = undefined;
    pax = undefined;

    const type = typeFlag === '0' || typeFlag === '\0' || typeFlag === '7' ? 'file' : typeFlag === '5' ? 'directory' : 'other';
    const entryPath = normalisePath(path);
    if (type !== 'file') {
      await skipBody();
      yield { path: entryPath, type, size, data: Buffer.alloc(0) };
      continue;
    }
    if (options.select && !options.select({ path: entryPath, size })) {
      await skipBody();
      yield { path: entryPath, type, size, data: Buffer.alloc(0), skipped: true };
      continue;
    }
    checkEntrySize(file, entryPath, size, maxEntryBytes);
    yield { path: entryPath, type, size, data: await readBody() };
  }
}

/**
 * Opens an archive through the guarded open: a regular file (a FIFO or a device is refused, never
 * waited on), with its first bytes for recognising the kind. The caller closes the handle.
 */
export async function openArchiveFile(file: string): Promise<{ handle: FileHandle; magic: Buffer }> {
  let handle: FileHandle;
  try {
    ({ handle } = await openInputFile(file, { what: 'archive', maxBytes: Number.MAX_SAFE_INTEGER }));
  } catch (error) {
    throw new DataFileError(file, `cannot open archive (${error instanceof InputFileError ? error.reason : (error as Error).message})`, { cause: error });
  }
  const magic = Buffer.alloc(4);
  try {
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return { handle, magic: magic.subarray(0, bytesRead) };
  } catch (error) {
    await handle.close();
    throw new DataFileError(file, `cannot read archive (${(error as Error).message})`, { cause: error });
  }
}

export const isGzipMagic = (magic: Buffer): boolean => magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;

/** Entries of a .tar or .tar.gz file (compression detected from the gzip magic bytes). */
export async function* readTarFile(file: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const { handle, magic } = await openArchiveFile(file);
  yield* readTarHandle(handle, isGzipMagic(magic), file, options);
}

/** Entries of an opened .tar (or .tar.gz, with gzip) file; the handle is closed at the end. */
export async function* readTarHandle(handle: FileHandle, gzip: boolean, file: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const input = handle.createReadStream({ start: 0, highWaterMark: 1 << 20, autoClose: true });
  // pipeline destroys both streams on error or early exit, so errors surface in the loop below.
  const stream: Readable = gzip ? pipeline(input, createGunzip({ chunkSize: 1 << 20 }), () => {}) : input;
  try {
    yield* readTarEntries(stream as AsyncIterable<Buffer>, file, options);
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code?.startsWith('Z_') ? 'corrupt or truncated gzip data' : 'cannot read archive';
    throw new DataFileError(file, `${reason} (${(error as Error).message})`, { cause: error });
  } finally {
    stream.destroy();
    input.destroy();
  }
}

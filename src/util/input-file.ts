// The one guarded way to open an input file. Every reader of a file a user names goes through here,
// so that none of them can hang on a FIFO, read /dev/zero for ever or allocate whatever a size field
// claims: the file is opened without blocking, must be a regular file, its size is known before a
// byte is read, and it is read only up to a limit that the caller states.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

/** Default cap on a whole-file read (2 GiB): larger than any model file we write, smaller than RAM. */
export const DEFAULT_MAX_INPUT_BYTES = 2 * 1024 ** 3;

export interface InputFileOptions {
  /** What the file is, for messages ("detector", "weights", "image"…). */
  what?: string;
  /** Refuse files larger than this many bytes (default DEFAULT_MAX_INPUT_BYTES). */
  maxBytes?: number;
}

/** A file that cannot be opened or is not a readable regular file; the message names the file. */
export class InputFileError extends Error {
  readonly path: string;
  /** Why, without the file's name ("it is a FIFO (named pipe), not a regular file"). */
  readonly reason: string;
  readonly code?: string;
  constructor(path: string, o: InputFileOptions, reason: string, options?: { cause?: unknown; code?: string }) {
    super(`cannot read ${o.what ? `${o.what} ${path}` : path}: ${reason}`, options);
    this.name = 'InputFileError';
    this.path = path;
    this.reason = reason;
    this.code = options?.code;
  }
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(info: fs.Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function checkPath(path: unknown, o: InputFileOptions): asserts path is string {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`Expected a file path${o.what ? ` for the ${o.what}` : ''} but received ${JSON.stringify(path) ?? typeof path}`);
  }
  if (path.includes('\0')) throw new TypeError(`Expected a file path without NUL characters${o.what ? ` for the ${o.what}` : ''}`);
}

function cannotOpen(path: string, o: InputFileOptions, error: unknown): InputFileError {
  const e = error as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
  return new InputFileError(path, o, why, { cause: e, code: e.code });
}

/** Checks what fstat says of an opened file; returns its size. */
function checkOpened(path: string, info: fs.Stats, o: InputFileOptions): number {
  if (!info.isFile()) {
    throw new InputFileError(path, o, `it is ${kindOf(info)}, not a regular file`, { code: 'ENOTREG' });
  }
  const max = o.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  if (info.size > max) {
    throw new InputFileError(path, o, `it has ${info.size} bytes, more than the limit of ${max}`, { code: 'EFBIG' });
  }
  return info.size;
}

/** An opened regular file and its size (synchronous). Close `fd` with fs.closeSync. */
export function openInputFileSync(path: string, o: InputFileOptions = {}): { fd: number; size: number } {
  checkPath(path, o);
  let fd: number;
  try {
    fd = fs.openSync(path, READ_FLAGS);
  } catch (e) {
    throw cannotOpen(path, o, e);
  }
  try {
    return { fd, size: checkOpened(path, fs.fstatSync(fd), o) };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** An opened regular file and its size. Close `handle` when done. */
export async function openInputFile(path: string, o: InputFileOptions = {}): Promise<{ handle: fsp.FileHandle; size: number }> {
  checkPath(path, o);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, READ_FLAGS);
  } catch (e) {
    throw cannotOpen(path, o, e);
  }
  try {
    return { handle, size: checkOpened(path, await handle.stat(), o) };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

function shrank(path: string, o: InputFileOptions, filled: number, size: number): InputFileError {
  return new InputFileError(path, o, `it ended after ${filled} of its ${size} bytes (changed while being read?)`);
}

/** The whole of a regular file, at most `maxBytes` (synchronous). */
export function readInputFileSync(path: string, o: InputFileOptions = {}): Buffer {
  const { fd, size } = openInputFileSync(path, o);
  try {
    const buf = Buffer.allocUnsafe(size);
    for (let filled = 0; filled < size;) {
      const n = fs.readSync(fd, buf, filled, size - filled, filled);
      if (n === 0) throw shrank(path, o, filled, size);
      filled += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole of a regular file, at most `maxBytes`. */
export async function readInputFile(path: string, o: InputFileOptions = {}): Promise<Buffer> {
  const { handle, size } = await openInputFile(path, o);
  try {
    const buf = Buffer.allocUnsafe(size);
    for (let filled = 0; filled < size;) {
      const { bytesRead } = await handle.read(buf, filled, size - filled, filled);
      if (bytesRead === 0) throw shrank(path, o, filled, size);
      filled += bytesRead;
    }
    return buf;
  } finally {
    await handle.close();
  }
}

/** The first `count` bytes of a regular file (fewer if it is shorter). */
export function readInputPrefixSync(path: string, count: number, o: InputFileOptions = {}): Buffer {
  const { fd, size } = openInputFileSync(path, { ...o, maxBytes: Number.MAX_SAFE_INTEGER });
  try {
    const buf = Buffer.alloc(Math.min(count, size));
    let filled = 0;
    while (filled < buf.length) {
      const n = fs.readSync(fd, buf, filled, buf.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    fs.closeSync(fd);
  }
}

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** What `writeFileAtomic` accepts: whole contents, or chunks produced while writing (large files). */
export type AtomicWriteData =
  | string
  | Uint8Array
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

export interface AtomicWriteOptions {
  /** File mode for a newly created file (default 0o666, less the umask). */
  mode?: number;
}

/** The temporary sibling path: same directory, so the final rename never crosses file systems. */
export function atomicTempPath(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function checkTarget(target: unknown): asserts target is string {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`Expected a non-empty string for path but received ${JSON.stringify(target)}`);
  }
}

function isChunkSource(data: unknown): data is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    data !== null &&
    typeof data === 'object' &&
    !(data instanceof Uint8Array) &&
    (Symbol.iterator in data || Symbol.asyncIterator in data)
  );
}

function checkData(data: unknown): void {
  if (typeof data === 'string' || data instanceof Uint8Array || isChunkSource(data)) return;
  const got = data === null ? 'null' : typeof data;
  throw new TypeError(
    `Expected a string, Uint8Array or (async) iterable of chunks for data but received ${got}`,
  );
}

function toBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`Expected each chunk of data to be a string or Uint8Array but received ${typeof chunk}`);
}

/**
 * A system error (ENOSPC, EACCES…) whose message names the file being written — not the
 * temporary sibling — while keeping code, errno and syscall for callers that branch on them.
 */
function namingTarget(error: unknown, target: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string') return error;
  const named = new Error(`cannot write ${target}: ${e.message}`, { cause: e }) as NodeJS.ErrnoException;
  named.code = e.code;
  named.errno = e.errno;
  named.syscall = e.syscall;
  named.path = target;
  return named;
}

/** Temporary files being written, removed if the process exits mid-write (e.g. a second Ctrl-C). */
const inFlight = new Set<string>();
let exitHookInstalled = false;

function track(tmp: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const file of inFlight) fs.rmSync(file, { force: true });
    });
  }
  inFlight.add(tmp);
}

/** Makes the rename itself durable; some platforms cannot open directories, which is not an error. */
async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort only.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to `target` so that readers see either the old file or the complete new one,
 * never a half-written file: write a temporary sibling, fsync it, rename it over the target.
 * On any error the temporary file is removed and the old file is left untouched.
 */
export async function writeFileAtomic(
  target: string,
  data: AtomicWriteData,
  options: AtomicWriteOptions = {},
): Promise<void> {
  checkTarget(target);
  checkData(data);
  const tmp = atomicTempPath(target);
  let handle: fsp.FileHandle | undefined;
  track(tmp);
  try {
    handle = await fsp.open(tmp, 'wx', options.mode);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for await (const chunk of data as AsyncIterable<unknown>) {
        await handle.write(toBytes(chunk));
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw namingTarget(error, target);
  } finally {
    inFlight.delete(tmp);
  }
  await fsyncDirectory(path.dirname(target));
}

/**
 * Synchronous twin of `writeFileAtomic`, for places that cannot await (a checkpoint written from
 * a signal handler or an `exit` hook). Accepts whole contents or a synchronous iterable of chunks.
 */
export function writeFileAtomicSync(
  target: string,
  data: string | Uint8Array | Iterable<string | Uint8Array>,
  options: AtomicWriteOptions = {},
): void {
  checkTarget(target);
  checkData(data);
  if (isChunkSource(data) && !(Symbol.iterator in (data as object))) {
    throw new TypeError('Expected a synchronous iterable for data in writeFileAtomicSync but received an async iterable');
  }
  const tmp = atomicTempPath(target);
  let fd: number | undefined;
  track(tmp);
  try {
    fd = fs.openSync(tmp, 'wx', options.mode);
    const chunks = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      const bytes = toBytes(chunk);
      let offset = 0;
      while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (error) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the original error matters more.
      }
    }
    fs.rmSync(tmp, { force: true });
    throw namingTarget(error, target);
  } finally {
    inFlight.delete(tmp);
  }
  try {
    const dirFd = fs.openSync(path.dirname(target), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Best effort only.
  }
}

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

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EDQUOT: 'disk quota exceeded',
};

/** Why a write failed, in words that name no temporary file. */
function systemReason(e: NodeJS.ErrnoException, target: string): string {
  if (e.code === 'ENOENT') return `the folder ${path.dirname(target)} does not exist`;
  return REASONS[e.code ?? ''] ? `${REASONS[e.code ?? '']} (${e.code})` : e.message;
}

/**
 * A system error (ENOSPC, EACCES…) whose message names the file being written — not the
 * temporary sibling — while keeping code, errno and syscall for callers that branch on them.
 */
function namingTarget(error: unknown, target: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string') return error;
  const named = new Error(`cannot write ${target}: ${systemReason(e, target)}`, { cause: e }) as NodeJS.ErrnoException;
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
 * How an output goes to `target`. A regular file (or nothing yet) is replaced atomically; a symlink
 * to one is followed, so the file it points at is replaced and the link stays; a character device
 * (/dev/null, a terminal) or a FIFO is written directly, never renamed over; anything else is refused.
 */
export type OutputTarget = { how: 'atomic'; path: string } | { how: 'direct'; path: string } | { how: 'descriptor'; fd: number };

/**
 * The descriptor of this process that `target` names through /dev/stdout, /dev/fd/N or
 * /proc/self/fd/N (followed link by link), or undefined. A socket behind one cannot be reopened by
 * name, so it is written through the descriptor itself.
 */
function ownDescriptor(target: string): number | undefined {
  let at = target;
  for (let hop = 0; hop < 40; hop++) {
    const m = /^\/(?:proc\/(?:self|(\d+))\/fd|dev\/fd)\/(\d+)$/.exec(at);
    if (m && (m[1] === undefined || Number(m[1]) === process.pid)) return Number(m[2]);
    let next: string;
    try {
      next = fs.readlinkSync(at);
    } catch {
      return undefined;
    }
    at = path.resolve(path.dirname(at), next);
  }
  return undefined;
}

export function outputTarget(target: string): OutputTarget {
  checkTarget(target);
  let linked: fs.Stats;
  try {
    linked = fs.lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { how: 'atomic', path: target };
    throw namingTarget(e, target);
  }
  if (linked.isFile()) return { how: 'atomic', path: target };
  let info: fs.Stats;
  try {
    info = linked.isSymbolicLink() ? fs.statSync(target) : linked;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it is a symbolic link to a missing file' : (e as Error).message;
    throw Object.assign(new Error(`cannot write ${target}: ${why}`, { cause: e }), { code: code ?? 'EINVAL', path: target });
  }
  if (info.isFile()) return { how: 'atomic', path: fs.realpathSync(target) };
  if (info.isCharacterDevice() || info.isFIFO()) return { how: 'direct', path: target };
  const fd = info.isSocket() ? ownDescriptor(target) : undefined;
  if (fd !== undefined) return { how: 'descriptor', fd };
  const kind = info.isDirectory() ? 'a folder' : info.isBlockDevice() ? 'a block device' : info.isSocket() ? 'a socket' : 'not a regular file';
  throw Object.assign(new Error(`cannot write ${target}: it is ${kind}; name a file to write`), { code: info.isDirectory() ? 'EISDIR' : 'EINVAL', path: target });
}

/** Writes all of `bytes` to an open descriptor. */
function writeAllSync(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset);
    } catch (e) {
      // A non-blocking socket (a parent's stdio) that is full: wait for it and go on.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Writes into a descriptor this process already holds (its stdout), which it leaves open. */
async function writeDescriptor(fd: number, target: string, data: AtomicWriteData): Promise<void> {
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) writeAllSync(fd, toBytes(data));
    else for await (const chunk of data as AsyncIterable<unknown>) writeAllSync(fd, toBytes(chunk));
  } catch (error) {
    throw namingTarget(error, target);
  }
}

/** Writes straight into a device or FIFO (no temporary file, no rename, no fsync). */
async function writeDirect(target: string, data: AtomicWriteData): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(target, 'w');
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else for await (const chunk of data as AsyncIterable<unknown>) await handle.write(toBytes(chunk));
    await handle.close();
    handle = undefined;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    throw namingTarget(error, target);
  }
}

function writeDirectSync(target: string, data: string | Uint8Array | Iterable<string | Uint8Array>, held?: number): void {
  let fd: number | undefined;
  try {
    fd = held ?? fs.openSync(target, 'w');
    const chunks = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) writeAllSync(fd, toBytes(chunk));
  } catch (error) {
    throw namingTarget(error, target);
  } finally {
    if (fd !== undefined && held === undefined) fs.closeSync(fd);
  }
}

/**
 * The one way deepmetric writes an output file. Writes `data` to `target` so that readers see
 * either the old file or the complete new one, never a half-written file: write a temporary
 * sibling, fsync it, rename it over the target. On any error the temporary file is removed and the
 * old file is left untouched. Devices, FIFOs and symlinks are never replaced (see outputTarget).
 */
export async function writeFileAtomic(
  target: string,
  data: AtomicWriteData,
  options: AtomicWriteOptions = {},
): Promise<void> {
  checkTarget(target);
  checkData(data);
  const resolved = outputTarget(target);
  if (resolved.how === 'descriptor') return writeDescriptor(resolved.fd, target, data);
  if (resolved.how === 'direct') return writeDirect(target, data);
  const requested = target;
  target = resolved.path;
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
    throw namingTarget(error, requested);
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
  const resolved = outputTarget(target);
  if (resolved.how !== 'atomic') {
    writeDirectSync(target, data, resolved.how === 'descriptor' ? resolved.fd : undefined);
    return;
  }
  const requested = target;
  target = resolved.path;
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
    throw namingTarget(error, requested);
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

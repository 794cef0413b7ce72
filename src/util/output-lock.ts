// One writer per output folder. Two runs writing the same folder would interleave their files
// (last writer wins, file by file); a lock file holding the writer's pid refuses the second one,
// and a lock left by a run that no longer exists (killed, crashed) is recognised and replaced.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = '.deepmetric.lock';

interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** Thrown when another live process holds the folder. */
export class OutputFolderLockedError extends Error {
  constructor(message: string, readonly holder: LockHolder) {
    super(message);
    this.name = 'OutputFolderLockedError';
  }
}

/**
 * Creates `folder` (and its parents) unless it exists. `what` names it in errors (e.g. '--out'):
 * a path that is a file, or that cannot be created, is a clear error before any work starts.
 */
export function prepareOutputFolder(folder: string, what = 'output folder'): void {
  let info: Stats | undefined;
  try {
    info = statSync(folder);
  } catch {
    // Absent: create it below.
  }
  if (info && !info.isDirectory()) throw new Error(`Expected ${what} to be a folder but ${folder} is an existing file`);
  if (info) return;
  try {
    mkdirSync(folder, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EEXIST' || err.code === 'ENOTDIR' ? 'a file is in the way' : err.code ?? err.message;
    throw new Error(`Cannot create ${what} ${folder}: ${why}`, { cause: e });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isSafeInteger(h.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

export interface OutputLock {
  readonly file: string;
  /** Removes the lock file (safe to call twice); also done when the process exits. */
  release(): void;
}

/**
 * Takes the output folder for this process: creates it, then creates `<folder>/.deepmetric.lock`
 * exclusively with this pid. Another live process's lock is refused with OutputFolderLockedError;
 * a lock whose process is gone (on this host) is reported through `warn` and replaced.
 */
export function lockOutputFolder(folder: string, o: { what?: string; command?: string; warn?: (line: string) => void } = {}): OutputLock {
  prepareOutputFolder(folder, o.what);
  const file = join(folder, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: o.command ?? process.argv.slice(1).join(' ') };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`Cannot lock ${folder}: ${(e as Error).message}`, { cause: e });
      const holder = readHolder(file);
      if (holder && (holder.host !== me.host || isAlive(holder.pid))) {
        throw new OutputFolderLockedError(`${folder} is in use by another deepmetric run (pid ${holder.pid} on ${holder.host}, started ${holder.started}: ${holder.command}); ` +
          `wait for it to finish or choose another ${o.what ?? 'output folder'}. If that run is gone, delete ${file}.`, holder);
      }
      (o.warn ?? ((line: string) => process.emitWarning(line, { code: 'DEEPMETRIC_STALE_LOCK' })))(
        `${folder}: removed a stale lock ${holder ? `of pid ${holder.pid}, which is no longer running` : 'that could not be read'}`);
      rmSync(file, { force: true });
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      process.removeListener('exit', release);
      // Only our own lock: a stale-lock cleanup by another process may have replaced it.
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    };
    process.on('exit', release);
    return { file, release };
  }
  throw new Error(`Cannot lock ${folder}: its lock file keeps changing; is another run starting there?`);
}

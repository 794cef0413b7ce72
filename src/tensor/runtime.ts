// Threads and build information of the linked libtorch.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { native } from '../binding/native.js';
import { checkInt } from './checks.js';

/** Sets libtorch's intra-op thread count (at load it is DEEPMETRIC_NUM_THREADS or every core). */
export function setNumThreads(n: number): void {
  native.setNumThreads(checkInt(n, 'threads', 1, 1024));
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
export function torchVersion(): string {
  return native.torchVersion();
}
/** libtorch's own description of its thread pools and BLAS/OpenMP setup. */
export function parallelInfo(): string {
  return native.parallelInfo();
}
/**
 * How the process's malloc is set up. Loading the addon raises glibc's mmap and trim thresholds so
 * that training steps reuse freed activation memory instead of faulting fresh pages in (see
 * docs/performance.md); `DEEPMETRIC_MALLOC=default` or any `MALLOC_*_` variable leaves glibc alone.
 */
export function mallocInfo(): string {
  return native.mallocInfo();
}
export function buildConfig(): string {
  return native.buildConfig();
}

/**
 * Records every libtorch op (with its time and input shapes) run by fn into a Chrome trace at
 * tracePath (open it in chrome://tracing or Perfetto), to see where a training step spends time.
 * The trace's folder is created; a trace libtorch could not write is an error, not silence.
 */
export function profile<T>(tracePath: string, fn: () => T): T {
  if (typeof tracePath !== 'string' || tracePath === '') throw new TypeError(`Expected a file path for tracePath but received ${JSON.stringify(tracePath)}`);
  const path = resolve(tracePath);
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  native.profilerStart(path);
  let result: T;
  try {
    result = fn();
  } finally {
    native.profilerStop();
  }
  if (!existsSync(path)) throw new Error(`profile: libtorch wrote no trace to ${path}; is its folder writable?`);
  return result;
}

// A full disk for tests: a tiny tmpfs where the test may mount one (root on Linux), otherwise
// ENOSPC injected into the writes of matching files.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/** A tmpfs of `kb` KiB mounted at `path`, or undefined where mounting is not possible. */
export function tinyFilesystem(path: string, kb: number): { path: string; dispose(): void } | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.DEEPMETRIC_TEST_NO_MOUNT) return undefined;
  fs.mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { path, dispose: () => execFileSync('umount', [path], { stdio: 'ignore' }) };
}

/**
 * Makes every write through fs.promises to a file whose path contains `marker` fail with ENOSPC,
 * as a full disk would; returns the function that restores fs.
 */
export function injectEnospc(marker: string): () => void {
  const promises = fs.promises as unknown as { open: typeof fs.promises.open };
  const open = promises.open;
  const enospc = async (): Promise<never> => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  };
  promises.open = (async (path: fs.PathLike, ...rest: unknown[]) => {
    const handle = await (open as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(path, ...rest);
    if (String(path).includes(marker)) Object.assign(handle, { write: enospc, writeFile: enospc });
    return handle;
  }) as typeof fs.promises.open;
  syncBuiltinESMExports();
  return () => {
    promises.open = open;
    syncBuiltinESMExports();
  };
}

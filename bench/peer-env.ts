// Environments for the PyTorch peers. 'default' is PyTorch as its users run it: without the
// settings deepmetric makes when it loads (which child processes would otherwise inherit).
// 'same-settings' gives PyTorch those settings too — OpenBLAS's thread timeout through its
// variable and glibc's malloc thresholds through MALLOC_*_, as mallopt sets them in our addon —
// to show how much of a ratio is the settings and how much the code.
import { envSetAtLoad } from '../src/binding/native.js';

export function peerEnv(kind: 'default' | 'same-settings' = 'default', extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(envSetAtLoad)) delete env[k];
  if (kind === 'same-settings') {
    Object.assign(env, { OPENBLAS_THREAD_TIMEOUT: '16', MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) });
  }
  return { ...env, ...extra };
}

// Environments for the PyTorch peers. 'default' is PyTorch as its users run it: without the
// variables deepmetric sets when it loads (which child processes would otherwise inherit).
// 'same-settings' keeps them and adds glibc's malloc thresholds as MALLOC_*_ variables, the values
// the addon gives mallopt (native/src/runtime.cc), to show how much of a ratio is the settings and
// how much the code.
import { envSetAtLoad } from '../src/binding/native.js';

const MALLOC_AS_THE_ADDON_SETS_IT = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };

export function peerEnv(kind: 'default' | 'same-settings' = 'default', extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (kind === 'default') for (const k of Object.keys(envSetAtLoad)) delete env[k];
  else Object.assign(env, MALLOC_AS_THE_ADDON_SETS_IT);
  return { ...env, ...extra };
}

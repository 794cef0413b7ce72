// A diverged run can leave Inf or NaN in weights or BatchNorm statistics while its loss still
// prints as a number; checkpoints are checked so a broken model is never saved as a good one.
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { isFloating } from '../tensor/dtype.js';
import type { Module } from '../nn/module.js';

/** The dotted name ('<module>.<tensor>') of the first parameter or buffer holding Inf or NaN, or undefined. */
export function nonFiniteTensor(modules: Readonly<Record<string, Module>>): string | undefined {
  return noGrad(() => {
    for (const [name, m] of Object.entries(modules)) {
      for (const [key, t] of Object.entries(m.stateDict())) {
        if (!isFloating(t.dtype)) continue;
        if (!tidy(() => t.isfinite().all().item() === 1)) return `${name}.${key}`;
      }
    }
    return undefined;
  });
}

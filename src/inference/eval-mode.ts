// Eval mode for the length of a call: train/eval is explicit and always restored in `finally`.
import type { Module } from '../nn/module.js';

/** Runs fn in eval mode and restores the previous training flags afterwards. */
export function inEvalMode<T>(modules: Module[], fn: () => T): T {
  const previous = modules.map((m) => m.training);
  for (const m of modules) m.eval();
  try {
    return fn();
  } finally {
    for (const [i, m] of modules.entries()) m.train(previous[i]);
  }
}

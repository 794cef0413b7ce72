// --sync-bn: every BatchNorm layer of the modules normalises, in training mode, with the statistics
// of the whole global batch (one small allreduce per layer per step; see src/nn/synced-batchnorm.ts
// for the forward and for the gradient approximation).
import type { Module } from '../nn/module.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import type { ProcessGroup } from './process-group.js';

/** Hooks every BatchNorm layer of the modules to the group; returns how many. */
export function synchronizeBatchNorm(modules: Module[], group: ProcessGroup): number {
  let count = 0;
  for (const m of modules) {
    for (const [, sub] of m.namedModules()) {
      if (sub instanceof BatchNorm1d || sub instanceof BatchNorm2d) {
        sub.allreduceStats = (stats) => group.allreduce([stats], 'sum');
        count++;
      }
    }
  }
  return count;
}

/** Undoes synchronizeBatchNorm (e.g. before the modules are used outside the group). */
export function unsynchronizeBatchNorm(modules: Module[]): void {
  for (const m of modules) for (const [, sub] of m.namedModules()) if (sub instanceof BatchNorm1d || sub instanceof BatchNorm2d) sub.allreduceStats = null;
}

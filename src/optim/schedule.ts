// Learning-rate schedules as functions of training progress (fractional epochs), with linear warm-up.
import { describe } from '../tensor/checks.js';

export interface ScheduleConfig {
  kind: 'constant' | 'cosine' | 'step';
  /** Peak learning rate. */
  lr: number;
  /** Epochs of linear warm-up from lr/warmupEpochs-th to lr (default 0). */
  warmupEpochs?: number;
  /** cosine: total epochs of the decay; step: ignored. */
  epochs?: number;
  /** cosine: the floor (default 0). */
  minLr?: number;
  /** step: multiply by gamma every stepEpochs (defaults 0.1 and 30). */
  gamma?: number;
  stepEpochs?: number;
}

export const SCHEDULES = ['constant', 'cosine', 'step'] as const;

export function checkSchedule(c: ScheduleConfig): ScheduleConfig {
  if (!SCHEDULES.includes(c.kind)) throw new TypeError(`Expected a schedule among ${SCHEDULES.join(', ')} but received ${describe(c.kind)}`);
  if (!(c.lr > 0)) throw new TypeError(`Expected lr > 0 but received ${describe(c.lr)}`);
  if (c.kind === 'cosine' && !((c.epochs ?? 0) > 0)) throw new TypeError(`Expected epochs > 0 for a cosine schedule but received ${describe(c.epochs)}`);
  return c;
}

/** The learning rate after `progress` epochs (fractional: epoch + step/stepsPerEpoch). */
export function learningRateAt(c: ScheduleConfig, progress: number): number {
  const warmup = c.warmupEpochs ?? 0;
  let lr: number;
  switch (c.kind) {
    case 'constant':
      lr = c.lr;
      break;
    case 'cosine': {
      const minLr = c.minLr ?? 0;
      const t = Math.min(1, Math.max(0, (progress - warmup) / Math.max(1e-9, c.epochs! - warmup)));
      lr = minLr + 0.5 * (c.lr - minLr) * (1 + Math.cos(Math.PI * t));
      break;
    }
    case 'step':
      lr = c.lr * (c.gamma ?? 0.1) ** Math.floor(progress / (c.stepEpochs ?? 30));
      break;
  }
  if (warmup > 0 && progress < warmup) lr *= (progress + 1e-3) / warmup;
  return lr;
}

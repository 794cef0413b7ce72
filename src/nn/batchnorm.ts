// Batch normalisation (Ioffe & Szegedy 2015) over channels of [N,C] or [N,C,H,W] inputs.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import { ones, zeros } from '../tensor/creation.js';
import { checkInt } from '../tensor/checks.js';
import { batchNorm } from './functional.js';
import { syncedBatchNorm, type StatsAllreduce } from './synced-batchnorm.js';

export interface BatchNormConfig {
  numFeatures: number;
  eps?: number;
  /**
   * PyTorch convention: running = (1 − momentum)·running + momentum·batch (default 0.1).
   * Keras's momentum m corresponds to 1 − m here (Keras 0.999 → 0.001).
   */
  momentum?: number;
  affine?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly eps: number;
  /** Mutable so that precise-BN recalibration (src/train/precise-bn.ts) can average batches cumulatively. */
  momentum: number;
  protected abstract readonly rank: number;
  /**
   * Data-parallel --sync-bn (src/distributed/sync-batchnorm.ts): sums statistics over the ranks;
   * training-mode forward then normalises with the whole global batch's (src/nn/synced-batchnorm.ts).
   */
  allreduceStats: StatsAllreduce | null = null;

  constructor(c: BatchNormConfig) {
    super();
    const n = checkInt(c.numFeatures, 'numFeatures', 1);
    this.eps = c.eps ?? 1e-5;
    this.momentum = c.momentum ?? 0.1;
    const affine = c.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([n])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([n])) : null;
    this.runningMean = this.registerBuffer('running_mean', zeros([n]));
    this.runningVar = this.registerBuffer('running_var', ones([n]));
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== this.rank) throw new TypeError(`${this.constructor.name}: Expected a ${this.rank}-d input but received shape [${x.shape.join(',')}]`);
    if (this.training && this.allreduceStats) return syncedBatchNorm(x, this, this.allreduceStats);
    return batchNorm(x, { weight: this.weight, bias: this.bias, runningMean: this.runningMean, runningVar: this.runningVar,
      training: this.training, momentum: this.momentum, eps: this.eps });
  }
}

export class BatchNorm1d extends BatchNormBase {
  protected readonly rank = 2;
}

export class BatchNorm2d extends BatchNormBase {
  protected readonly rank = 4;
}

/** Keras's BatchNormalization defaults (eps 1e-3, momentum 0.99 in Keras's convention). */
export const KERAS_BN = { eps: 1e-3, momentum: 0.01 } as const;

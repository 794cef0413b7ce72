// Which dataset indices form each batch of an epoch. Samplers are pure functions of (seed, epoch),
// so resuming at epoch k reproduces exactly the batches an uninterrupted run would have seen.

import { checkInt } from '../../tensor/checks.js';
import { deriveSeed, shuffledIndices } from './random.js';

export interface BatchSampler {
  /** Dataset indices of every batch of the given epoch, in order. */
  batches(epoch: number): Int32Array[];
  /** Number of batches in an epoch. */
  readonly batchesPerEpoch: number;
}

export interface SequentialBatchOptions {
  batchSize: number;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
  seed?: number;
}

/** Every image once per epoch, in a seeded per-epoch random order (or in dataset order). */
export class ShuffledBatchSampler implements BatchSampler {
  readonly batchesPerEpoch: number;
  private readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly seed: number;

  constructor(private readonly size: number, options: SequentialBatchOptions) {
    checkInt(size, 'dataset size', 1);
    this.batchSize = checkInt(options.batchSize, 'batchSize', 1);
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && this.batchSize > size) {
      throw new RangeError(`Expected batchSize of at most the dataset size ${size} with dropLast but received ${this.batchSize}`);
    }
    this.seed = checkInt(options.seed ?? 0, 'seed', 0, 0xffffffff);
    this.batchesPerEpoch = this.dropLast ? Math.floor(size / this.batchSize) : Math.ceil(size / this.batchSize);
  }

  batches(epoch: number): Int32Array[] {
    checkInt(epoch, 'epoch', 0);
    let order: Int32Array;
    if (this.shuffle) {
      order = shuffledIndices(this.size, deriveSeed(this.seed, epoch));
    } else {
      order = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) order[i] = i;
    }
    const batches: Int32Array[] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      batches.push(order.slice(b * this.batchSize, Math.min(this.size, (b + 1) * this.batchSize)));
    }
    return batches;
  }
}

// Batches of m images from each of batchSize/m classes, as pair and triplet losses need positives
// and negatives in every batch (after pytorch-metric-learning's MPerClassSampler).

import { checkInt } from '../../tensor/checks.js';
import { indicesByClass } from '../dataset.js';
import type { BatchSampler } from './batch-sampler.js';
import { deriveSeed, Random } from './random.js';

export interface MPerClassOptions {
  /** Images per class in each batch. */
  m: number;
  /** Images per batch; a multiple of m. */
  batchSize: number;
  /** Images drawn per epoch (default: the dataset size); the epoch has floor(length / batchSize) batches. */
  length?: number;
  seed?: number;
}

export class MPerClassSampler implements BatchSampler {
  readonly batchesPerEpoch: number;
  private readonly groups: Int32Array[];
  private readonly classesPerBatch: number;
  private readonly m: number;
  private readonly seed: number;

  constructor(labels: Int32Array, options: MPerClassOptions) {
    const classCount = labels.reduce((max, label) => Math.max(max, label + 1), 0);
    this.groups = indicesByClass(labels, classCount).filter((group) => group.length > 0);
    this.m = checkInt(options.m, 'm', 1);
    const batchSize = checkInt(options.batchSize, 'batchSize', this.m, this.m * this.groups.length);
    if (batchSize % this.m !== 0) {
      throw new RangeError(`Expected batchSize to be a multiple of m = ${this.m} but received ${batchSize}`);
    }
    this.classesPerBatch = batchSize / this.m;
    const length = checkInt(options.length ?? labels.length, 'length', batchSize);
    this.seed = checkInt(options.seed ?? 0, 'seed', 0, 0xffffffff);
    this.batchesPerEpoch = Math.floor(length / batchSize);
  }

  batches(epoch: number): Int32Array[] {
    checkInt(epoch, 'epoch', 0);
    const random = new Random(deriveSeed(this.seed, epoch));
    // Classes are drawn from a shuffled cycle and images from per-class shuffled pools, so over an
    // epoch every class and image is used about equally often.
    let classCycle = random.shuffle(this.groups.map((_, i) => i));
    let classCursor = 0;
    const pools = this.groups.map((group) => random.shuffle(Int32Array.from(group)));
    const cursors = new Int32Array(this.groups.length);
    const batches: Int32Array[] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      if (classCursor + this.classesPerBatch > classCycle.length) {
        classCycle = random.shuffle(classCycle);
        classCursor = 0;
      }
      const batch = new Int32Array(this.classesPerBatch * this.m);
      let filled = 0;
      for (let k = 0; k < this.classesPerBatch; k++) {
        const c = classCycle[classCursor++];
        const pool = pools[c];
        if (pool.length < this.m) {
          // Too few images for m distinct ones: draw with replacement.
          for (let j = 0; j < this.m; j++) batch[filled++] = pool[random.nextInt(pool.length)];
          continue;
        }
        if (cursors[c] + this.m > pool.length) {
          random.shuffle(pool);
          cursors[c] = 0;
        }
        for (let j = 0; j < this.m; j++) batch[filled++] = pool[cursors[c]++];
      }
      batches.push(batch);
    }
    return batches;
  }
}

// Each rank's share of every batch: all ranks draw the same seeded global batches (the inner
// sampler's), and rank r takes its contiguous slice, so the shards of an epoch are disjoint,
// together cover exactly the global epoch, and the global batch stays --batch-size for any
// number of ranks (which is what lets --resume continue with another number of processes).
import type { BatchSampler } from '../data/loading/batch-sampler.js';

export class ShardedBatchSampler implements BatchSampler {
  readonly batchesPerEpoch: number;

  constructor(private readonly inner: BatchSampler, readonly rank: number, readonly worldSize: number) {
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`Expected a world size ≥ 1 but received ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`Expected a rank between 0 and ${worldSize - 1} but received ${rank}`);
    this.batchesPerEpoch = inner.batchesPerEpoch;
  }

  /** Sizes of the global batches of the epoch last asked for (gradients are weighted by share). */
  globalSizes: number[] = [];

  /** Rank r's slice of global batch b: images [⌊r·n/W⌋, ⌊(r+1)·n/W⌋); every rank gets ⌊n/W⌋ or ⌈n/W⌉. */
  batches(epoch: number): Int32Array[] {
    const global = this.inner.batches(epoch);
    this.globalSizes = global.map((b) => b.length);
    return global.map((b, i) => {
      if (b.length < this.worldSize) {
        throw new RangeError(`Global batch ${i} of epoch ${epoch} has ${b.length} images, fewer than the ${this.worldSize} ranks: use a larger --batch-size or drop the last batch`);
      }
      return b.subarray(Math.floor((this.rank * b.length) / this.worldSize), Math.floor(((this.rank + 1) * b.length) / this.worldSize));
    });
  }
}

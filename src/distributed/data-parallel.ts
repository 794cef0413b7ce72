// Data-parallel training over a process group, as the trainer sees it: the same model on every
// rank, rank 0's weights broadcast at the start, each rank training on its shard of every batch,
// gradients averaged after backward (bucketed allreduce), and rank 0 alone validating, printing
// and writing files, with its decisions (stop early, stop on interrupt) shared with the others.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BatchSampler } from '../data/loading/batch-sampler.js';
import { deriveSeed } from '../data/loading/random.js';
import { DEFAULT_BUCKET_BYTES, planBuckets } from './buckets.js';
import { readDistributedEnv, type DistributedEnv } from './environment.js';
import { DistributedError, ProcessGroup } from './process-group.js';
import { ShardedBatchSampler } from './sharded-sampler.js';
import { synchronizeBatchNorm } from './sync-batchnorm.js';

export interface DataParallelOptions {
  /** Bytes per gradient bucket (default 25 MB, as DistributedDataParallel). */
  bucketBytes?: number;
  /** BatchNorm statistics over the global batch (--sync-bn): set on the modules at synchronizeStart. */
  syncBatchNorm?: boolean;
}

export interface JoinOptions extends DataParallelOptions {
  timeoutSeconds?: number;
  /** Settings that every rank must share; the group refuses to form when they differ. */
  fingerprint?: string;
  env?: NodeJS.ProcessEnv;
}

export class DataParallel {
  readonly bucketBytes: number;
  readonly syncBatchNorm: boolean;
  private sequence = 0;
  private plan: { params: Tensor[]; buckets: Tensor[][] } | null = null;
  private sampler: ShardedBatchSampler | null = null;

  constructor(readonly group: ProcessGroup, options: DataParallelOptions = {}) {
    this.bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    this.syncBatchNorm = options.syncBatchNorm ?? false;
  }

  /** Joins the run this process was started into (torchrun's variables), or null when it is not one rank of several. */
  static fromEnvironment(options: JoinOptions = {}): DataParallel | null {
    const env: DistributedEnv | null = readDistributedEnv(options.env ?? process.env);
    if (env === null) return null;
    const group = ProcessGroup.create({ rank: env.rank, worldSize: env.worldSize, rendezvous: env.rendezvous, timeoutSeconds: options.timeoutSeconds, fingerprint: options.fingerprint });
    return new DataParallel(group, options);
  }

  get rank(): number {
    return this.group.rank;
  }
  get worldSize(): number {
    return this.group.worldSize;
  }
  /** Rank 0 validates, prints progress and writes checkpoints and results. */
  get isRoot(): boolean {
    return this.group.rank === 0;
  }

  /**
   * Call once before training (after any resume). Waits, for as long as the others are alive, until
   * every rank is ready (loading data may take a while); checks that all ranks have the same number
   * of training images and resume from the same epoch and step (a checkpoint missing on one machine
   * would otherwise train them from different points); then every rank takes rank 0's parameters
   * and buffers. With syncBatchNorm, the modules' BatchNorm layers are hooked to the group.
   */
  async synchronizeStart(modules: Module[], at: { epoch: number; step: number; trainSize: number }): Promise<void> {
    await this.group.arrive(`start/${this.sequence++}`);
    const mine = [at.epoch, at.step, at.trainSize];
    const sums = this.group.sum([...mine, ...mine.map((v) => v * v)]);
    const W = this.worldSize;
    const differs = (k: number): boolean => Math.abs(sums[k + 3] / W - (sums[k] / W) ** 2) > 1e-6 * Math.max(1, sums[k + 3] / W);
    if (differs(2)) {
      throw new DistributedError(`the ranks have different training sets (rank ${this.rank}: ${at.trainSize} images, mean over ranks ${(sums[2] / W).toFixed(1)}): every rank needs the same data and options`);
    }
    if (differs(0) || differs(1)) {
      throw new DistributedError(`the ranks resume from different points (rank ${this.rank}: epoch ${at.epoch}, step ${at.step}; ` +
        `mean over ranks: epoch ${(sums[0] / W).toFixed(2)}, step ${(sums[1] / W).toFixed(2)}): with --resume every machine needs the same checkpoint folder (e.g. a shared filesystem)`);
    }
    const tensors = modules.flatMap((m) => [...m.parameters(), ...m.namedBuffers().map(([, b]) => b)]);
    this.group.broadcast(tensors, 0, this.bucketBytes);
    if (this.syncBatchNorm) synchronizeBatchNorm(modules, this.group);
  }

  /** This rank's share of each of the sampler's (global) batches. */
  shard(sampler: BatchSampler): BatchSampler {
    this.sampler = new ShardedBatchSampler(sampler, this.rank, this.worldSize);
    return this.sampler;
  }

  /**
   * Augmentation seed of this rank's loader: shuffling comes from the shared sampler, so this
   * only keeps the ranks' augmentations independent (rank 0 keeps the run's seed).
   */
  augmentSeed(seed: number): number {
    return this.rank === 0 ? seed : deriveSeed(seed, 0x72616e6b, this.rank);
  }

  /** Images in global batch `batchIndex` of the sharded sampler's current epoch (all ranks together). */
  globalBatchSize(batchIndex: number): number {
    const n = this.sampler?.globalSizes[batchIndex];
    if (n === undefined) throw new RangeError(`Expected a batch index of the current epoch but received ${batchIndex}`);
    return n;
  }

  /**
   * After backward of batch `batchIndex` of the sharded sampler's epoch: every rank's gradients
   * become the average over ranks, each weighted by its share of the global batch (so uneven
   * shards still give the one-process gradient). `flags` (e.g. 1 for "interrupt requested")
   * come back summed over ranks.
   */
  averageGradients(params: Tensor[], batchIndex: number, flags: number[] = []): number[] {
    if (this.plan === null || this.plan.params.length !== params.length || this.plan.params.some((p, i) => p !== params[i])) {
      this.plan = { params, buckets: planBuckets(params, this.bucketBytes) };
    }
    const global = this.sampler?.globalSizes[batchIndex];
    const W = this.worldSize;
    const local = global === undefined ? 1 : Math.floor(((this.rank + 1) * global) / W) - Math.floor((this.rank * global) / W);
    const scale = global === undefined ? 1 : (local * W) / global;
    if (Math.abs(scale - 1) > 1e-12) {
      for (const p of params) {
        const g = p.grad;
        if (g) {
          g.mul_(scale);
          g.dispose();
        }
      }
    }
    return this.group.averageGradients(this.plan.buckets, flags);
  }

  /** Sums plain numbers over ranks (e.g. an epoch's loss sum and image count). */
  sum(values: number[]): number[] {
    return this.group.sum(values);
  }

  /**
   * Rank 0 passes its decision and gets it back; the other ranks pass nothing and wait for it, for
   * as long as rank 0 is alive (its validation may take a while), failing if it goes silent.
   */
  async shareFromRoot<T>(value?: T): Promise<T> {
    const key = `root/${this.sequence++}`;
    if (this.isRoot) {
      this.group.publish(key, JSON.stringify(value ?? null));
      return value as T;
    }
    return JSON.parse(await this.group.waitFor(key, 0)) as T;
  }

  /**
   * Leaves the group; safe twice. After a finished run (`finished`), first waits until every rank
   * is done with the store rank 0 hosts. After an error it leaves at once: this process exiting is
   * what tells the others (a barrier could meet their next allreduce instead).
   */
  close(finished = false): void {
    try {
      if (finished) this.group.barrier();
    } finally {
      this.group.close();
    }
  }
}

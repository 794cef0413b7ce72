// Iterates a dataset in batches, epoch by epoch. Batches are prepared ahead: by default in a
// worker thread that reads the dataset's images from shared memory, so gathering and augmenting
// batch i+1 runs on another core while the training step of batch i runs on this one (the native
// training step blocks the main thread, so main-thread preparation could never overlap with it).
// The `worker: false` fallback prepares batches in setImmediate callbacks, which only overlap
// with whatever the consumer awaits; it is simpler to debug and costs ~1 ms per 128 images.

import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { assembleBatch, type Batch, type BatchSource } from './batch-assembly.js';
import { ShuffledBatchSampler, type BatchSampler } from './batch-sampler.js';
import { checkInt } from '../../tensor/checks.js';
import { sharedBytes, validateDataset } from '../dataset.js';
import { DataFileError } from '../data-error.js';
import { isFileImageDataset, type AnyImageDataset } from '../cache/file-image-dataset.js';
import { deriveSeed } from './random.js';
import { checkAugmentOptions, type AugmentOptions } from './transforms.js';
import type { WorkerReply, WorkerRequest } from './augment-worker.js';

export type { Batch } from './batch-assembly.js';

/** Separates the augmentation stream from the shuffling stream of the same seed. */
const AUGMENT_STREAM = 0x61756720;

export interface DataLoaderOptions {
  /** Images per batch; required unless a sampler is given. */
  batchSize?: number;
  /** Reshuffle each epoch (default true); ignored with a sampler. */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false); ignored with a sampler. */
  dropLast?: boolean;
  /** Seeds shuffling and augmentation; each epoch and batch derives its own stream from it. */
  seed?: number;
  /** Augmentation applied to every batch; none when absent. */
  augment?: AugmentOptions;
  /** Chooses the batches instead of shuffling, e.g. an MPerClassSampler. */
  sampler?: BatchSampler;
  /** Batches prepared ahead of the consumer (default 2). */
  prefetch?: number;
  /** Prepare batches in a worker thread (default true). */
  worker?: boolean;
}

interface BatchPreparer {
  prepare(indices: Int32Array, seed: number): Promise<Batch>;
  close(): Promise<void>;
}

class MainThreadPreparer implements BatchPreparer {
  constructor(private readonly source: BatchSource) {}

  prepare(indices: Int32Array, seed: number): Promise<Batch> {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(assembleBatch(this.source, indices, seed));
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  async close(): Promise<void> {}
}

class WorkerPreparer implements BatchPreparer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (batch: Batch) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  constructor(private readonly source: BatchSource) {
    this.worker = new Worker(new URL('./augment-worker.js', import.meta.url));
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`DataLoader worker exited with code ${code}`)));
    this.worker.postMessage({ type: 'init', source } satisfies WorkerRequest);
    // Referenced only while a batch is awaited, so an abandoned iterator cannot keep the process alive.
    this.worker.unref();
  }

  prepare(indices: Int32Array, seed: number): Promise<Batch> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'batch', id, indices, seed } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('DataLoader worker closed');
    this.closing = true;
    this.worker.ref(); // keeps the event loop alive until the exit this awaits
    await this.worker.terminate();
  }

  private settle(reply: WorkerReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    if ('error' in reply) {
      entry.reject(new Error(`DataLoader worker failed to prepare a batch: ${reply.error}`));
      return;
    }
    const { height, width, channels } = this.source.shape;
    entry.resolve({ images: reply.images, labels: reply.labels, indices: reply.indices, size: reply.labels.length, height, width, channels });
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly sampler: BatchSampler;
  private source: BatchSource;
  private readonly seed: number;
  private readonly prefetch: number;
  private readonly useWorker: boolean;
  private nextEpoch = 0;

  /** A file-backed dataset is read from its cache file batch by batch (see file-image-dataset.ts). */
  constructor(readonly dataset: AnyImageDataset, options: DataLoaderOptions) {
    if (!isFileImageDataset(dataset)) validateDataset(dataset, 'DataLoader dataset');
    this.seed = checkInt(options.seed ?? 0, 'seed', 0, 0xffffffff);
    this.prefetch = checkInt(options.prefetch ?? 2, 'prefetch', 1, 64);
    this.useWorker = options.worker ?? true;
    if (options.sampler) {
      this.sampler = options.sampler;
    } else {
      if (options.batchSize === undefined) throw new RangeError('Expected batchSize or a sampler for DataLoader but received neither');
      this.sampler = new ShuffledBatchSampler(dataset.labels.length, { batchSize: options.batchSize, shuffle: options.shuffle, dropLast: options.dropLast, seed: this.seed });
    }
    const shape = { height: dataset.height, width: dataset.width, channels: dataset.channels };
    const augment = options.augment ? checkAugmentOptions(options.augment, shape) : undefined;
    this.source = isFileImageDataset(dataset) ? { labels: dataset.labels, shape, augment } : { images: dataset.images, labels: dataset.labels, shape, augment };
  }

  get batchesPerEpoch(): number {
    return this.sampler.batchesPerEpoch;
  }

  /** The batches of one epoch; the same epoch number always yields the same batches. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    checkInt(epoch, 'epoch', 0);
    const batches = this.sampler.batches(epoch);
    const fd = this.openFile();
    const source = fd === undefined ? this.source : { ...this.source, file: { fd, file: this.fileDataset!.file, pixelOffset: this.fileDataset!.pixelOffset, rows: this.fileDataset!.rows } };
    let preparer: BatchPreparer;
    try {
      preparer = this.useWorker ? new WorkerPreparer(fd === undefined ? this.sharedSource() : source) : new MainThreadPreparer(source);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      throw error;
    }
    const pending: Promise<Batch>[] = [];
    let requested = 0;
    const request = () => {
      if (requested >= batches.length) return;
      const promise = preparer.prepare(batches[requested], deriveSeed(this.seed, AUGMENT_STREAM, epoch, requested));
      // Awaited later; this handler only stops an early failure from counting as unhandled.
      promise.catch(() => {});
      pending.push(promise);
      requested++;
    };
    try {
      for (let i = 0; i < this.prefetch; i++) request();
      while (pending.length > 0) {
        const batch = await pending.shift()!;
        request();
        yield batch;
      }
    } finally {
      await preparer.close();
      // Closed only after the worker has stopped, so no read can hit a reused descriptor.
      if (fd !== undefined) closeSync(fd);
    }
  }

  private get fileDataset() {
    return isFileImageDataset(this.dataset) ? this.dataset : undefined;
  }

  /** One descriptor per epoch for a file-backed dataset; the worker reads through it (descriptors are per process). */
  private openFile(): number | undefined {
    const dataset = this.fileDataset;
    if (!dataset) return undefined;
    try {
      return openSync(dataset.file, 'r');
    } catch (error) {
      throw new DataFileError(dataset.file, `cannot open dataset cache (${(error as Error).message})`, { cause: error });
    }
  }

  /** Successive epochs: the first `for await` runs epoch 0, the next epoch 1, and so on. */
  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    return this.epoch(this.nextEpoch++);
  }

  /** The worker reads images without a copy only from shared memory; copy once if needed. */
  private sharedSource(): BatchSource {
    if (!this.source.images || this.source.images.buffer instanceof SharedArrayBuffer) return this.source;
    const images = sharedBytes(this.source.images.length);
    images.set(this.source.images);
    this.source = { ...this.source, images };
    return this.source;
  }
}

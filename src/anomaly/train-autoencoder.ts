// Training the convolutional autoencoder baseline (MSE on pixels / 255, Adam) and scoring images
// by their reconstruction error, with the same training loop, data loader and checkpoints as the heads
// (and the same data-parallel hooks: sharded batches, averaged gradients, rank 0 writes).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { mseLoss } from '../nn/functional.js';
import { Adam } from '../optim/optimizer.js';
import { DataLoader } from '../data/loading/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import { imagesToTensor, datasetSlice, inEvalMode, ranges } from '../inference/index.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import type { ProgressStream } from '../util/progress.js';
import { runTrainingLoop, type EpochProgress } from '../train/training-loop.js';
import type { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { ShuffledBatchSampler } from '../data/loading/batch-sampler.js';
import type { DataParallel } from '../distributed/data-parallel.js';

export interface AutoencoderEpoch {
  epoch: number;
  train_loss: number;
  seconds: number;
  images_per_s: number;
}

export interface AutoencoderTrainRun {
  model: ConvAutoencoder;
  train: ImageDataset;
  epochs: number;
  batchSize: number;
  /** Adam learning rate (default 1e-3, the lecture's). */
  lr?: number;
  seed: number;
  device?: Device;
  /** last.ckpt goes here after every epoch. */
  dir: string;
  /** Continue from dir/last.ckpt when it exists. */
  resume?: boolean;
  label?: string;
  log?: (line: string) => void;
  progressStream?: ProgressStream;
  /** A stop request (the CLI aborts it on Ctrl-C): the current step finishes and last.ckpt is written. */
  signal?: AbortSignal;
  /** Data-parallel training: this process is one rank; rank 0 alone logs and writes checkpoints. */
  distributed?: DataParallel | null;
}

export interface AutoencoderTrainResult {
  history: AutoencoderEpoch[];
  trainSeconds: number;
  /** Stopped by run.signal before the last epoch; resumable from last.ckpt. */
  interrupted: boolean;
}

const UNIT = { kind: 'unit' } as const;

/**
 * Trains model to reconstruct its inputs; the loss is the mean squared error over pixels in [0, 1].
 * A diverging loss throws TrainingDivergedError; run.signal stops it cleanly mid-epoch (resumable).
 */
export async function trainAutoencoder(run: AutoencoderTrainRun): Promise<AutoencoderTrainResult> {
  const { model } = run;
  const label = run.label ?? 'autoencoder';
  const dp = run.distributed ?? null; // distributed: null in a single-process run
  const root = !dp || dp.isRoot;
  const log = root ? run.log ?? ((line: string) => process.stderr.write(`${line}\n`)) : () => {};
  const device = run.device ?? 'cpu';
  mkdirSync(run.dir, { recursive: true });
  const lastPath = join(run.dir, 'last.ckpt');
  const modules = { autoencoder: model };
  const config = { epochs: run.epochs, batchSize: run.batchSize, lr: run.lr ?? 1e-3, seed: run.seed };
  manualSeed(run.seed);
  const opt = new Adam(model.parameters(), { lr: config.lr });
  let history: AutoencoderEpoch[] = [];
  let start = 0;
  let partial: EpochProgress | undefined;
  try {
    if (run.resume && existsSync(lastPath)) {
      const ckpt = loadCheckpoint<AutoencoderEpoch[]>(lastPath);
      ckpt.restore({ modules, optimizer: opt });
      history = ckpt.history ?? [];
      start = ckpt.epoch;
      partial = (ckpt.extra.partial as EpochProgress | undefined) ?? undefined;
      log(`${label}: resumed from ${lastPath} at epoch ${start}${partial ? `, step ${partial.stepInEpoch}` : ''}`);
      // distributed: the saved partial sums are rank 0's (already global); the others start theirs from zero
      if (dp && !root && partial) partial = { ...partial, lossSum: 0, seen: 0, sums: {} };
    }
    // distributed: rank 0's weights on every rank, and every rank at the same resume point
    await dp?.synchronizeStart([model], { epoch: start, step: partial?.stepInEpoch ?? 0, trainSize: run.train.labels.length });
    const loaderOptions = { batchSize: run.batchSize, shuffle: true, dropLast: run.train.labels.length > run.batchSize, seed: run.seed };
    // distributed: each rank reads its shard of the same seeded global batches
    const loader = new DataLoader(run.train, dp ? { ...loaderOptions, seed: dp.augmentSeed(run.seed), sampler: dp.shard(new ShuffledBatchSampler(run.train.labels.length, loaderOptions)) } : loaderOptions);
    const params = model.parameters();
    const result = await runTrainingLoop({
      label, epochs: run.epochs, data: loader, optimizer: opt, modules, batchSize: run.batchSize,
      start: { epoch: start, partial }, signal: run.signal, lastCheckpoint: lastPath, progressStream: run.progressStream,
      agreedStop: dp !== null, isMainProcess: root,
      hooks: {
        // distributed: gradients averaged over ranks; the stop votes ride along, so all ranks stop at the same step
        afterBackward: dp ? (ctx) => ({ stop: dp.averageGradients(params, ctx.step, [ctx.stopRequested ? 1 : 0])[0] > 0 }) : undefined,
        gatherProgress: dp ? (p) => { [p.lossSum, p.seen] = dp.sum([p.lossSum, p.seen]); } : undefined,
        batchImages: dp ? (_batch, ctx) => dp.globalBatchSize(ctx.step) : undefined,
        computeLoss(batch) {
          const x = imagesToTensor(batch, UNIT, device);
          return { loss: mseLoss(model.forward(x), x) };
        },
        endOfEpoch(epoch, p) {
          history.push({ epoch: epoch + 1, train_loss: p.lossSum / p.seen, seconds: p.seconds, images_per_s: p.seen / p.seconds });
          log(`${label} epoch ${epoch + 1}/${run.epochs}: reconstruction MSE ${(p.lossSum / p.seen).toFixed(5)} | ${p.seconds.toFixed(1)} s, ${Math.round(p.seen / p.seconds)} img/s`);
        },
        checkpoint({ epochsDone, partial: progress }) {
          saveCheckpoint(lastPath, { modules, optimizer: opt, epoch: epochsDone, history, config, extra: { classes: run.train.classes, partial: progress } });
        },
      },
    });
    const interrupted = result.ending === 'stopped';
    if (interrupted && run.signal?.aborted) log(`${label}: saved ${lastPath}; run again with --resume to continue`);
    return { history, trainSeconds: history.reduce((s, e) => s + e.seconds, 0), interrupted };
  } finally {
    opt.dispose();
  }
}

/** Per-image mean squared reconstruction error of every image of data, in eval mode without grad. */
export function reconstructionErrors(model: ConvAutoencoder, data: ImageDataset, o: { device?: Device; batchSize?: number } = {}): number[] {
  const out: number[] = [];
  inEvalMode([model], () => noGrad(() => {
    for (const [s, e] of ranges(data.labels.length, o.batchSize ?? 500)) {
      out.push(...tidy(() => model.reconstructionError(datasetSlice(data, s, e, UNIT, o.device ?? 'cpu')).to('cpu').toNumbers()));
    }
  }));
  return out;
}

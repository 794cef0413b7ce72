// Training a backbone with a head: the training loop (training-loop.ts) with validation every
// epoch, history, best-model and last checkpoints, early stopping and exact resumption.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../tensor/grad-mode.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { learningRateAt, checkSchedule, type ScheduleConfig } from '../optim/schedule.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { BackboneSpec } from '../models/registry.js';
import type { Head } from '../losses/head.js';
import type { ImageDataset } from '../data/dataset.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { stratifiedSubset } from '../data/splits.js';
import type { AugmentOptions } from '../data/transforms.js';
import { imagesToTensor, labelsToTensor, type InputNormalization } from './batch-tensors.js';
import { evaluate } from './evaluate.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { runTrainingLoop, type EpochProgress, type TrainingHooks } from './training-loop.js';

export { TrainingDivergedError } from './training-loop.js';

export interface OptimizerConfig {
  name: 'adam' | 'adamw' | 'sgd';
  lr: number;
  amsgrad?: boolean;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule?: Omit<ScheduleConfig, 'lr'>;
  seed: number;
  augment?: AugmentOptions | null;
  normalization: InputNormalization;
  /** Stop when validation accuracy has not improved by minDelta for patience epochs. */
  earlyStopping?: { patience: number; minDelta?: number } | null;
  device?: Device;
  /** Drop the last incomplete batch (keeps BatchNorm statistics sane). Default true. */
  dropLast?: boolean;
}

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number | null;
  val_loss: number;
  val_acc: number;
  lr: number;
  seconds: number;
  images_per_s: number;
}

export interface TrainResult {
  history: EpochRecord[];
  bestValAcc: number;
  bestEpoch: number;
  finalValAcc: number;
  trainSeconds: number;
  stoppedEarly: boolean;
  interrupted: boolean;
}

export interface TrainRun {
  model: EmbeddingNet;
  head: Head;
  train: ImageDataset;
  val: ImageDataset;
  config: TrainConfig;
  /** Checkpoints go here: last.ckpt (every epoch, and on interrupt) and best.ckpt. */
  dir: string;
  /** Continue from dir/last.ckpt when it exists. */
  resume?: boolean;
  /** Label for progress and log lines. */
  label?: string;
  log?: (line: string) => void;
  /** Progress output (default stderr); tests pass a sink. */
  progressStream?: { write(s: string): unknown; isTTY?: boolean };
  /** Stop after this many optimizer steps in total (tests simulate a killed run with it). */
  maxSteps?: number;
  /** A stop request (the CLI aborts it on Ctrl-C): the current step finishes, last.ckpt is written, and train returns with interrupted set. */
  signal?: AbortSignal;
  /**
   * Data-parallel training: ranks other than 0 pass false — they write no checkpoint, log nothing
   * and show no progress. Default true.
   */
  isMainProcess?: boolean;
  /** Extra loop hooks, e.g. averaging gradients across ranks after backward, sharding before an epoch. */
  loopHooks?: Pick<TrainingHooks<Batch>, 'beforeEpoch' | 'afterBackward'>;
  /** How to rebuild the model (createEmbeddingNet's spec), stored in checkpoints for eval/embed. */
  modelSpec?: BackboneSpec;
}

const CENTROID_REFERENCE_SIZE = 5000;


interface Extra {
  bestValAcc: number;
  bestEpoch: number;
  sinceBest: number;
  stoppedEarly?: boolean;
  partial?: EpochProgress;
  trainSeconds: number;
}

export function createOptimizer(params: ReturnType<EmbeddingNet['parameters']>, c: OptimizerConfig): Optimizer {
  switch (c.name) {
    case 'adam': return new Adam(params, { lr: c.lr, amsgrad: c.amsgrad, weightDecay: c.weightDecay });
    case 'adamw': return new AdamW(params, { lr: c.lr, amsgrad: c.amsgrad, weightDecay: c.weightDecay });
    case 'sgd': return new SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
    default: throw new TypeError(`Expected an optimizer among adam, adamw, sgd but received ${JSON.stringify((c as OptimizerConfig).name)}`);
  }
}

export async function train(run: TrainRun): Promise<TrainResult> {
  const { model, head, config: c } = run;
  const main = run.isMainProcess ?? true;
  const log = !main ? () => {} : run.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const label = run.label ?? head.name;
  const device = c.device ?? 'cpu';
  const schedule = checkSchedule({ kind: 'constant', ...c.schedule, lr: c.optimizer.lr, epochs: c.schedule?.epochs ?? c.epochs });
  mkdirSync(run.dir, { recursive: true });
  const lastPath = join(run.dir, 'last.ckpt');
  const bestPath = join(run.dir, 'best.ckpt');
  const modules = { model, head };

  manualSeed(c.seed);
  model.toChannelsLast();
  const opt = createOptimizer([...model.parameters(), ...head.parameters()], c.optimizer);
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let extra: Extra = { bestValAcc: -1, bestEpoch: 0, sinceBest: 0, trainSeconds: 0 };
  try {
    if (run.resume && existsSync(lastPath)) {
      const ckpt = loadCheckpoint<EpochRecord[], TrainConfig>(lastPath);
      ckpt.restore({ modules, optimizer: opt });
      history = ckpt.history ?? [];
      startEpoch = ckpt.epoch;
      extra = ckpt.extra as unknown as Extra;
      if (extra.partial) extra.partial = upgradeProgress(extra.partial);
      log(`${label}: resumed from ${lastPath} at epoch ${startEpoch}${extra.partial ? `, step ${extra.partial.stepInEpoch}` : ''}`);
    }
    const spec = { model: run.modelSpec ?? null, head: head.config(), classes: run.train.classes };

    // Heads without logits validate by nearest class centroid; a fixed stratified slice of the
    // training set estimates the centroids without embedding all of it every epoch.
    const centroidReference = head.classifies ? undefined
      : run.train.labels.length <= CENTROID_REFERENCE_SIZE ? run.train : stratifiedSubset(run.train, { size: CENTROID_REFERENCE_SIZE, seed: c.seed });
    const loader = new DataLoader(run.train, { batchSize: c.batchSize, shuffle: true, dropLast: c.dropLast ?? true, seed: c.seed, augment: c.augment ?? undefined });
    const partial = extra.partial;
    extra.partial = undefined;
    const result = await runTrainingLoop({
      label, epochs: c.epochs, data: loader, optimizer: opt, modules, batchSize: c.batchSize,
      start: { epoch: startEpoch, partial },
      learningRate: (epoch) => learningRateAt(schedule, epoch),
      signal: run.signal, maxSteps: run.maxSteps, lastCheckpoint: lastPath, progressStream: run.progressStream, isMainProcess: main,
      hooks: {
        ...run.loopHooks,
        computeLoss(batch) {
          const x = imagesToTensor(batch, c.normalization, device);
          const y = labelsToTensor(batch.labels, device);
          const emb = model.forward(x);
          return {
            loss: head.loss(emb, y),
            counts: head.classifies ? () => ({ correct: noGrad(() => head.predict(emb).eq(y).sum().item()) }) : undefined,
          };
        },
        progressFields: head.classifies ? (p) => ({ acc: (p.sums.correct ?? 0) / p.seen }) : undefined,
        endOfEpoch(epoch, p) {
          const t0 = performance.now();
          const val = evaluate(model, head, run.val, { norm: c.normalization, device, reference: centroidReference });
          const record: EpochRecord = {
            epoch: epoch + 1,
            train_loss: p.lossSum / p.seen,
            train_acc: head.classifies ? (p.sums.correct ?? 0) / p.seen : null,
            val_loss: val.loss,
            val_acc: val.accuracy,
            lr: opt.lr,
            seconds: p.seconds,
            images_per_s: p.seen / p.seconds,
          };
          history.push(record);
          extra.trainSeconds += p.seconds;
          const improved = val.accuracy > extra.bestValAcc + (c.earlyStopping?.minDelta ?? 0);
          if (val.accuracy > extra.bestValAcc) {
            extra.bestValAcc = val.accuracy;
            extra.bestEpoch = epoch + 1;
            if (main) saveCheckpoint(bestPath, { modules, epoch: epoch + 1, history, config: c, extra: { valAcc: val.accuracy, ...spec } });
          }
          extra.sinceBest = improved ? 0 : extra.sinceBest + 1;
          if (c.earlyStopping && extra.sinceBest >= c.earlyStopping.patience) {
            extra.stoppedEarly = true;
            log(`${label}: early stop — no improvement for ${extra.sinceBest} epochs`);
          }
          log(`${label} epoch ${epoch + 1}/${c.epochs}: loss ${record.train_loss.toFixed(4)}` +
            (record.train_acc === null ? '' : ` acc ${record.train_acc.toFixed(4)}`) +
            ` | val loss ${val.loss.toFixed(4)} acc ${val.accuracy.toFixed(4)} | lr ${record.lr.toExponential(2)}` +
            ` | ${record.seconds.toFixed(1)} s, ${Math.round(record.images_per_s)} img/s (val ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
          return { stop: extra.stoppedEarly };
        },
        checkpoint({ epochsDone, partial: progress }) {
          saveCheckpoint(lastPath, { modules, optimizer: opt, epoch: epochsDone, history, config: c, extra: { ...extra, partial: progress, ...spec } });
        },
      },
    });
    if (result.ending === 'stopped') {
      if (run.signal?.aborted) log(`${label}: saved ${lastPath}; run again with --resume to continue`);
      return summary(history, extra, true); // stopped before the end: resumable
    }
    return summary(history, extra, false);
  } finally {
    opt.dispose();
  }
}

/** Mid-epoch progress from checkpoints written before the training loop kept per-batch counts in sums. */
function upgradeProgress(p: EpochProgress & { correct?: number }): EpochProgress {
  const { correct, ...rest } = p;
  return { ...rest, sums: rest.sums ?? (correct ? { correct } : {}) };
}

function summary(history: EpochRecord[], extra: Extra, interrupted: boolean): TrainResult {
  return {
    history,
    bestValAcc: Math.max(0, extra.bestValAcc),
    bestEpoch: extra.bestEpoch,
    finalValAcc: history.at(-1)?.val_acc ?? 0,
    trainSeconds: extra.trainSeconds,
    stoppedEarly: extra.stoppedEarly ?? false,
    interrupted,
  };
}

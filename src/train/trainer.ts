// Training a backbone with a head: the training loop (training-loop.ts) with validation every
// epoch, history, best-model and last checkpoints, early stopping, exact resumption, batch tasks,
// pretrained backbones and data-parallel ranks.
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
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import type { DatasetInput } from '../data/load-dataset.js';
import { DataLoader } from '../data/loading/loader.js';
import { stratifiedSubset } from '../data/splits.js';
import type { AugmentOptions } from '../data/loading/transforms.js';
import { imagesToTensor, type InputNormalization } from '../inference/index.js';
import { labelsToTensor } from './batch-tensors.js';
import { evaluate } from './evaluate.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { runTrainingLoop, type EpochProgress } from './training-loop.js';
import { ChanceWatch, backboneBnMomentum } from './chance-warning.js';
import { PreciseBatchNorm } from './precise-bn.js';
import type { BatchTask } from './batch-task.js';
import type { Module } from '../nn/module.js';
import { ShuffledBatchSampler } from '../data/loading/batch-sampler.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { backboneHasOwnGroup, createBackboneGroupsOptimizer, setTrainingMode, untrainedRun } from './pretrained-training.js';

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
  /**
   * Before each validation, recompute BatchNorm statistics as the plain average over this many
   * training images (precise BN, src/train/precise-bn.ts); 0 or absent keeps the moving averages.
   */
  preciseBn?: number;
  /** The images the model takes (size, channels, resize) and how validation was split off; eval and embed reuse it. */
  input?: DatasetInput;
  /** Stop when validation accuracy has not improved by minDelta for patience epochs. */
  earlyStopping?: { patience: number; minDelta?: number } | null;
  device?: Device;
  /** Drop the last incomplete batch (keeps BatchNorm statistics sane). Default true. */
  dropLast?: boolean;
  /** Pretrained weights file loaded into the backbone before training (recorded; see src/weights). */
  weights?: string | null;
  /** Backbone parameters out of the optimizer, its BatchNorm in eval mode: only projection and head train. */
  freezeBackbone?: boolean;
  /** The backbone's learning rate = lr × this (default 1). */
  backboneLrMult?: number;
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
  /** In memory, or file-backed (read batch by batch from a dataset cache). */
  train: AnyImageDataset;
  val: AnyImageDataset;
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
  /**
   * A stop request (the CLI aborts it on Ctrl-C): the current step finishes, last.ckpt is written,
   * and train returns with interrupted set. Data-parallel ranks vote and stop at the same step.
   */
  signal?: AbortSignal;
  /** How to rebuild the model (createEmbeddingNet's spec), stored in checkpoints for eval/embed. */
  modelSpec?: BackboneSpec;
  /** How a batch goes through the model (e.g. with its rotations, src/anomaly/rotation); default head.loss(model(x), y). */
  task?: BatchTask;
  /** Data-parallel training: this process is one rank; rank 0 alone validates, logs and writes files. */
  distributed?: DataParallel | null;
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

/**
 * Trains model + head: one loop with checkpoints every epoch (resumable), validation, early stopping,
 * NaN detection and a stop request (`signal`).
 * @example
 * ```ts
 * const data = await loadDataset({ source: 'photos', imageSize: 64 });
 * const model = models.createEmbeddingNet({ name: 'convnet' });
 * const head = createHead('l2softmax', { embeddingDim: model.embeddingDim, numClasses: data.classNames.length });
 * const r = await train({ model, head, train: data.train, val: data.test, dir: 'runs/x', config: {
 *   epochs: 10, batchSize: 128, seed: 0, optimizer: { name: 'adam', lr: 1e-3 }, normalization: data.normalization } });
 * ```
 */
export async function train(run: TrainRun): Promise<TrainResult> {
  const { model, head, config: c } = run;
  if (c.epochs === 0) return untrainedRun(run);
  const dp = run.distributed ?? null; // distributed: null in a single-process run
  const root = !dp || dp.isRoot;
  const log = root ? run.log ?? ((line: string) => process.stderr.write(`${line}\n`)) : () => {};
  const label = run.label ?? head.name;
  const device = c.device ?? 'cpu';
  const schedule = checkSchedule({ kind: 'constant', ...c.schedule, lr: c.optimizer.lr, epochs: c.schedule?.epochs ?? c.epochs });
  mkdirSync(run.dir, { recursive: true });
  const lastPath = join(run.dir, 'last.ckpt');
  const bestPath = join(run.dir, 'best.ckpt');

  manualSeed(c.seed);
  model.toChannelsLast();
  // A batch task's module (e.g. an auxiliary rotation head) trains and is checkpointed with the head.
  const taskModules: Record<string, Module> = run.task?.module ? { task: run.task.module } : {};
  const modules: Record<string, Module> = { model, head, ...taskModules };
  const params = [...model.parameters(), ...head.parameters(), ...(run.task?.module?.parameters() ?? [])];
  const opt = backboneHasOwnGroup(c) ? createBackboneGroupsOptimizer(model, head, c, run.task?.module?.parameters()) : createOptimizer(params, c.optimizer);
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
      // distributed: the saved partial sums are rank 0's (already global); the others start theirs from zero
      if (dp && !dp.isRoot && extra.partial) extra.partial = { ...extra.partial, lossSum: 0, seen: 0, sums: {} };
    }
    // distributed: rank 0's weights on every rank, and every rank at the same resume point
    await dp?.synchronizeStart(Object.values(modules), { epoch: startEpoch, step: extra.partial?.stepInEpoch ?? 0, trainSize: run.train.labels.length });
    const spec = { model: run.modelSpec ?? null, head: head.config(), classes: run.train.classes };

    // Heads without logits validate by nearest class centroid; a fixed stratified slice of the
    // training set estimates the centroids without embedding all of it every epoch.
    const centroidReference = head.classifies ? undefined
      : run.train.labels.length <= CENTROID_REFERENCE_SIZE ? run.train : stratifiedSubset(run.train, { size: CENTROID_REFERENCE_SIZE, seed: c.seed });
    const loaderOptions = { batchSize: c.batchSize, shuffle: true, dropLast: c.dropLast ?? true, seed: c.seed, augment: c.augment ?? undefined };
    // distributed: each rank reads its shard of the same seeded global batches
    const loader = new DataLoader(run.train, dp ? { ...loaderOptions, seed: dp.augmentSeed(c.seed), sampler: dp.shard(new ShuffledBatchSampler(run.train.labels.length, loaderOptions)) } : loaderOptions);
    const partial = extra.partial;
    extra.partial = undefined;
    const preciseBn = new PreciseBatchNorm(run.train, c.preciseBn, c.seed);
    const chanceWatch = new ChanceWatch({ label, log, valLabels: run.val.labels, classCount: run.train.classes.length, bnMomentum: backboneBnMomentum(run.modelSpec), preciseBn: c.preciseBn });
    const result = await runTrainingLoop({
      label, epochs: c.epochs, data: loader, optimizer: opt, modules, batchSize: c.batchSize,
      start: { epoch: startEpoch, partial },
      learningRate: (epoch) => learningRateAt(schedule, epoch),
      signal: run.signal, agreedStop: dp !== null, maxSteps: run.maxSteps, lastCheckpoint: lastPath, progressStream: run.progressStream, isMainProcess: root,
      hooks: {
        trainingMode() {
          setTrainingMode(model, head, c);
          run.task?.module?.train();
        },
        computeLoss(batch) {
          const x = imagesToTensor(batch, c.normalization, device);
          const labels = labelsToTensor(batch.labels, device);
          const step = run.task ? run.task.forward(model, x, labels) : { embeddings: model.forward(x), labels, loss: null };
          const emb = step.embeddings;
          const y = step.labels;
          return {
            loss: step.loss ? head.loss(emb, y).add(step.loss) : head.loss(emb, y),
            // Scaled to the batch's images when a task shows the head more rows (e.g. 4 rotations each).
            counts: head.classifies ? () => ({ correct: noGrad(() => head.predict(emb).eq(y).sum().item()) * batch.size / y.shape[0] }) : undefined,
          };
        },
        // distributed: average gradients over ranks; the stop votes ride along, so all ranks stop at the same step
        afterBackward: dp ? (ctx) => ({ stop: dp.averageGradients(params, ctx.step, [ctx.stopRequested ? 1 : 0])[0] > 0 }) : undefined,
        // distributed: epoch sums over ranks
        gatherProgress: dp ? (p) => { [p.lossSum, p.sums.correct, p.seen] = dp.sum([p.lossSum, p.sums.correct ?? 0, p.seen]); } : undefined,
        batchImages: dp ? (_batch, ctx) => dp.globalBatchSize(ctx.step) : undefined,
        progressFields: head.classifies ? (p) => ({ acc: (p.sums.correct ?? 0) / p.seen }) : undefined,
        async endOfEpoch(epoch, p) {
          // distributed: rank 0 validates and writes; the others follow its early-stop decision
          if (!root) {
            extra.stoppedEarly = await dp!.shareFromRoot<boolean>();
            return { stop: extra.stoppedEarly };
          }
          const t0 = performance.now();
          preciseBn.apply(model, { norm: c.normalization, device, batchSize: c.batchSize });
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
            saveCheckpoint(bestPath, { modules, epoch: epoch + 1, history, config: c, extra: { valAcc: val.accuracy, ...spec } });
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
          chanceWatch.afterEpoch(record, p.seen);
          if (dp) await dp.shareFromRoot(extra.stoppedEarly ?? false); // distributed: release the other ranks
          return { stop: extra.stoppedEarly };
        },
        checkpoint({ epochsDone, partial: progress }) {
          saveCheckpoint(lastPath, { modules, optimizer: opt, epoch: epochsDone, history, config: c, extra: { ...extra, partial: progress, ...spec } });
        },
      },
    });
    if (result.ending === 'stopped') {
      if (run.maxSteps === undefined || result.steps < run.maxSteps) log(`${label}: saved ${lastPath}; run again with --resume to continue`);
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

// The training loop: epochs of seeded batches, validation every epoch, history, best-model and
// last checkpoints, early stopping, exact resumption, NaN detection and graceful Ctrl-C.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { learningRateAt, checkSchedule, type ScheduleConfig } from '../optim/schedule.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { BackboneSpec } from '../models/registry.js';
import type { Head } from '../losses/head.js';
import type { AnyImageDataset } from '../data/file-image-dataset.js';
import type { DatasetInput } from '../data/load-dataset.js';
import { DataLoader } from '../data/loader.js';
import { stratifiedSubset } from '../data/splits.js';
import type { AugmentOptions } from '../data/transforms.js';
import { ProgressBar } from '../util/progress.js';
import { imagesToTensor, labelsToTensor, type InputNormalization } from './batch-tensors.js';
import { evaluate } from './evaluate.js';
import { TrainingDivergedError } from '../errors.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { ChanceWatch, backboneBnMomentum } from './chance-warning.js';
import { PreciseBatchNorm } from './precise-bn.js';
import type { BatchTask } from './batch-task.js';
import type { Module } from '../nn/module.js';
import { ShuffledBatchSampler } from '../data/batch-sampler.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { backboneHasOwnGroup, createBackboneGroupsOptimizer, setTrainingMode, untrainedRun } from './pretrained-training.js';

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
  /** How to rebuild the model (createEmbeddingNet's spec), stored in checkpoints for eval/embed. */
  modelSpec?: BackboneSpec;
  /** How a batch goes through the model (e.g. with its rotations, src/anomaly/rotation); default head.loss(model(x), y). */
  task?: BatchTask;
  /** Data-parallel training: this process is one rank; rank 0 alone validates, logs and writes files. */
  distributed?: DataParallel | null;
}

const CENTROID_REFERENCE_SIZE = 5000;

/** Thrown when the loss stops being finite; the last good checkpoint is kept. */
export { TrainingDivergedError } from '../errors.js';

interface Progress {
  stepInEpoch: number;
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

interface Extra {
  bestValAcc: number;
  bestEpoch: number;
  sinceBest: number;
  stoppedEarly?: boolean;
  partial?: Progress;
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
  if (c.epochs === 0) return untrainedRun(run);
  const dp = run.distributed ?? null; // distributed: null in a single-process run
  const log = dp && !dp.isRoot ? () => {} : run.log ?? ((line: string) => process.stderr.write(`${line}\n`));
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
  const params = [...model.parameters(), ...head.parameters(), ...(run.task?.module?.parameters() ?? [])];
  const opt = backboneHasOwnGroup(c) ? createBackboneGroupsOptimizer(model, head, c, run.task?.module?.parameters()) : createOptimizer(params, c.optimizer);
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let extra: Extra = { bestValAcc: -1, bestEpoch: 0, sinceBest: 0, trainSeconds: 0 };
  if (run.resume && existsSync(lastPath)) {
    const ckpt = loadCheckpoint<EpochRecord[], TrainConfig>(lastPath);
    ckpt.restore({ modules: { model, head, ...taskModules }, optimizer: opt });
    history = ckpt.history ?? [];
    startEpoch = ckpt.epoch;
    extra = ckpt.extra as unknown as Extra;
    log(`${label}: resumed from ${lastPath} at epoch ${startEpoch}${extra.partial ? `, step ${extra.partial.stepInEpoch}` : ''}`);
    // distributed: the saved partial sums are rank 0's (already global); the others start theirs from zero
    if (dp && !dp.isRoot && extra.partial) extra.partial = { ...extra.partial, lossSum: 0, correct: 0, seen: 0 };
  }
  // distributed: rank 0's weights on every rank, and every rank at the same resume point
  await dp?.synchronizeStart([model, head, ...Object.values(taskModules)], { epoch: startEpoch, step: extra.partial?.stepInEpoch ?? 0, trainSize: run.train.labels.length });
  const save = (epochsDone: number, partial?: Progress): void => saveCheckpoint(lastPath, {
    modules: { model, head, ...taskModules }, optimizer: opt, epoch: epochsDone, history, config: c,
    extra: { ...extra, partial, model: run.modelSpec ?? null, head: head.config(), classes: run.train.classes },
  });

  // Heads without logits validate by nearest class centroid; a fixed stratified slice of the
  // training set estimates the centroids without embedding all of it every epoch.
  const centroidReference = head.classifies ? undefined
    : run.train.labels.length <= CENTROID_REFERENCE_SIZE ? run.train : stratifiedSubset(run.train, { size: CENTROID_REFERENCE_SIZE, seed: c.seed });
  const loaderOptions = { batchSize: c.batchSize, shuffle: true, dropLast: c.dropLast ?? true, seed: c.seed, augment: c.augment ?? undefined };
  // distributed: each rank reads its shard of the same seeded global batches
  const loader = new DataLoader(run.train, dp ? { ...loaderOptions, seed: dp.augmentSeed(c.seed), sampler: dp.shard(new ShuffledBatchSampler(run.train.labels.length, loaderOptions)) } : loaderOptions);
  let interrupted = false;
  let agreedStop = false; // distributed: some rank was interrupted before this step's allreduce
  const onSigint = (): void => {
    interrupted = true;
    log(`\n${label}: interrupt received — finishing this step and saving a checkpoint (Ctrl-C again to abort)`);
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  let steps = 0;
  const preciseBn = new PreciseBatchNorm(run.train, c.preciseBn, c.seed);
  const chanceWatch = new ChanceWatch({ label, log, valLabels: run.val.labels, classCount: run.train.classes.length, bnMomentum: backboneBnMomentum(run.modelSpec), preciseBn: c.preciseBn });
  try {
    for (let epoch = startEpoch; epoch < c.epochs && !extra.stoppedEarly; epoch++) {
      const p: Progress = extra.partial ?? { stepInEpoch: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      extra.partial = undefined;
      const perEpoch = loader.batchesPerEpoch;
      const bar = new ProgressBar({ total: perEpoch * c.batchSize, label: `${label} epoch ${epoch + 1}/${c.epochs}`, unit: 'img',
        stream: dp && !dp.isRoot ? { write: () => true } : run.progressStream });
      bar.update(p.stepInEpoch * c.batchSize);
      setTrainingMode(model, head, c);
      run.task?.module?.train();
      let t0 = performance.now();
      let index = 0;
      for await (const batch of loader.epoch(epoch)) {
        if (index++ < p.stepInEpoch) continue;
        opt.lr = learningRateAt(schedule, epoch + p.stepInEpoch / perEpoch);
        const { loss, correct } = tidy(() => {
          const x = imagesToTensor(batch, c.normalization, device);
          const labels = labelsToTensor(batch.labels, device);
          opt.zeroGrad();
          const step = run.task ? run.task.forward(model, x, labels) : { embeddings: model.forward(x), labels, loss: null };
          const emb = step.embeddings;
          const y = step.labels;
          const lossT = step.loss ? head.loss(emb, y).add(step.loss) : head.loss(emb, y);
          const value = lossT.item();
          if (!Number.isFinite(value)) {
            throw new TrainingDivergedError(`${label}: the loss became ${value} at epoch ${epoch + 1}, step ${p.stepInEpoch + 1}; ` +
              `training stopped, and ${existsSync(lastPath) ? lastPath : 'no checkpoint'} holds the last good state. Try a lower learning rate.`);
          }
          lossT.backward();
          // distributed: average gradients over ranks; the interrupt votes ride along, so all ranks stop at the same step
          if (dp) agreedStop = dp.averageGradients(params, index - 1, [interrupted ? 1 : 0])[0] > 0;
          opt.step();
          // Scaled to the batch's images when a task shows the head more rows (e.g. 4 rotations each).
          const right = head.classifies ? noGrad(() => head.predict(emb).eq(y).sum().item()) * batch.size / y.shape[0] : 0;
          return { loss: value, correct: right };
        });
        p.stepInEpoch++;
        p.lossSum += loss * batch.size;
        p.correct += correct;
        p.seen += batch.size;
        steps++;
        bar.tick(dp ? dp.globalBatchSize(index - 1) : batch.size, { loss: p.lossSum / p.seen, ...(head.classifies ? { acc: p.correct / p.seen } : {}) });
        if ((dp ? agreedStop : interrupted) || (run.maxSteps !== undefined && steps >= run.maxSteps)) {
          p.seconds += (performance.now() - t0) / 1000;
          bar.finish();
          if (dp) [p.lossSum, p.correct, p.seen] = dp.sum([p.lossSum, p.correct, p.seen]); // distributed: epoch sums over ranks
          if (!dp || dp.isRoot) save(epoch, p); // distributed: rank 0 writes
          if (interrupted || agreedStop) log(`${label}: saved ${lastPath}; run again with --resume to continue`);
          return summary(history, extra, true); // stopped before the end: resumable
        }
      }
      p.seconds += (performance.now() - t0) / 1000;
      bar.finish();
      if (dp) [p.lossSum, p.correct, p.seen] = dp.sum([p.lossSum, p.correct, p.seen]); // distributed: epoch sums over ranks
      if (dp && !dp.isRoot) { // distributed: rank 0 validates and writes; the others follow its early-stop decision
        extra.stoppedEarly = await dp.shareFromRoot<boolean>();
        continue;
      }
      t0 = performance.now();
      preciseBn.apply(model, { norm: c.normalization, device, batchSize: c.batchSize });
      const val = evaluate(model, head, run.val, { norm: c.normalization, device, reference: centroidReference });
      const record: EpochRecord = {
        epoch: epoch + 1,
        train_loss: p.lossSum / p.seen,
        train_acc: head.classifies ? p.correct / p.seen : null,
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
        saveCheckpoint(bestPath, { modules: { model, head, ...taskModules }, epoch: epoch + 1, history, config: c,
          extra: { valAcc: val.accuracy, model: run.modelSpec ?? null, head: head.config(), classes: run.train.classes } });
      }
      extra.sinceBest = improved ? 0 : extra.sinceBest + 1;
      if (c.earlyStopping && extra.sinceBest >= c.earlyStopping.patience) {
        extra.stoppedEarly = true;
        log(`${label}: early stop — no improvement for ${extra.sinceBest} epochs`);
      }
      save(epoch + 1);
      log(`${label} epoch ${epoch + 1}/${c.epochs}: loss ${record.train_loss.toFixed(4)}` +
        (record.train_acc === null ? '' : ` acc ${record.train_acc.toFixed(4)}`) +
        ` | val loss ${val.loss.toFixed(4)} acc ${val.accuracy.toFixed(4)} | lr ${record.lr.toExponential(2)}` +
        ` | ${record.seconds.toFixed(1)} s, ${Math.round(record.images_per_s)} img/s (val ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      chanceWatch.afterEpoch(record, p.seen);
      if (dp) await dp.shareFromRoot(extra.stoppedEarly ?? false); // distributed: release the other ranks
    }
    return summary(history, extra, false);
  } finally {
    process.removeListener('SIGINT', onSigint);
    opt.dispose();
  }
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

// The one training loop: epochs of batches, the optimizer step, NaN detection, finite-weight checks
// before every checkpoint, a clean stop when asked (an AbortSignal; the CLI turns Ctrl-C into one),
// and resumption in the middle of an epoch. What differs between models — the loss of a batch,
// validation, what a checkpoint holds, data-parallel gradient averaging — comes in through hooks.
import { existsSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ProgressBar, type ProgressStream } from '../util/progress.js';
import { nonFiniteTensor } from './finite-check.js';
import { TrainingDivergedError } from '../errors.js';

export { TrainingDivergedError };

/** How far an epoch has come: stored in checkpoints written mid-epoch so a resumed run continues exactly. */
export interface EpochProgress {
  stepInEpoch: number;
  /** Sum of loss × batch size over the steps so far. */
  lossSum: number;
  /** Images seen so far. */
  seen: number;
  /** Sums of the per-batch counts returned by computeLoss (e.g. correct predictions). */
  sums: Record<string, number>;
  /** Training seconds so far (not counting validation). */
  seconds: number;
}

export interface StepContext {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based step within the epoch. */
  step: number;
  /** Batches in the epoch. */
  stepsPerEpoch: number;
}

/** What computeLoss returns for one batch. */
export interface BatchLoss {
  /** The scalar loss that is back-propagated. */
  loss: Tensor;
  /**
   * Called after the optimizer step, inside the batch's memory scope: counts summed over the epoch
   * into EpochProgress.sums (e.g. { correct }).
   */
  counts?: () => Record<string, number>;
}

/** Whether the loop goes on after an epoch. */
export interface EpochDecision {
  /** Stop after this epoch's checkpoint (early stopping). */
  stop?: boolean;
}

export interface TrainingHooks<B> {
  /** Before the first batch of an epoch, e.g. to shard the sampler across data-parallel ranks. */
  beforeEpoch?(epoch: number): void | Promise<void>;
  /** Puts the modules in training mode at the start of every epoch (default: train() on each). */
  trainingMode?(): void;
  /** The loss of one batch, in training mode, after the gradients were zeroed; called inside tidy. */
  computeLoss(batch: B, ctx: StepContext): BatchLoss;
  /**
   * After backward and before the optimizer step, e.g. to average gradients across ranks.
   * `stopRequested` is this process's stop request; returning { stop } replaces it with a decision
   * every rank shares (with agreedStop, data-parallel ranks stop at the same step).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: most hooks return nothing
  afterBackward?(ctx: StepContext & { stopRequested: boolean }): void | { stop: boolean };
  /** Combines this process's epoch sums with the other ranks' (in place), before they are used or saved. */
  gatherProgress?(p: EpochProgress): void;
  /** Images a step counts for in the progress bar (default the batch's; data-parallel: the global batch). */
  batchImages?(batch: B, ctx: StepContext): number;
  /** Extra fields for the progress bar, e.g. { acc: p.sums.correct / p.seen }. */
  progressFields?(p: EpochProgress): Record<string, number>;
  /**
   * After the last batch of an epoch (weights already checked finite): validation, history, best
   * model, logging. Return { stop: true } to stop early.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: most hooks return nothing
  endOfEpoch?(epoch: number, p: EpochProgress): EpochDecision | void | Promise<EpochDecision | void>;
  /**
   * Writes the checkpoint: after every epoch (epochsDone = epoch + 1, no partial) and when the loop
   * stops mid-epoch (partial set). The modules' weights are checked finite before it is called.
   * Called on the main process only.
   */
  checkpoint?(state: { epochsDone: number; partial?: EpochProgress }): void;
}

/** Anything that yields the batches of an epoch, as DataLoader does. */
export interface EpochSource<B> {
  readonly batchesPerEpoch: number;
  epoch(epoch: number): AsyncIterable<B>;
}

export interface TrainingLoopOptions<B extends { size: number }> {
  /** Names the run in progress bars, logs and errors. */
  label: string;
  epochs: number;
  data: EpochSource<B>;
  optimizer: Optimizer;
  /**
   * By name (as in checkpoints): put in training mode at every epoch, and checked for finite
   * parameters and buffers before every checkpoint.
   */
  modules: Record<string, Module>;
  hooks: TrainingHooks<B>;
  /** Where to start: a resumed run's completed epochs and the progress of its unfinished epoch. */
  start?: { epoch: number; partial?: EpochProgress };
  /** The learning rate at a fractional epoch (a schedule); the optimizer's own rate when absent. */
  learningRate?: (epoch: number) => number;
  /** A stop request: the loop finishes the current step, writes a checkpoint and returns. */
  signal?: AbortSignal;
  /**
   * Stop only when afterBackward returns { stop: true } (data-parallel: a decision all ranks share),
   * never on this process's signal alone. Default false.
   */
  agreedStop?: boolean;
  /** Stop after this many optimizer steps (as a stop request would). */
  maxSteps?: number;
  /** Images per batch, for the progress bar's total. */
  batchSize: number;
  /** Named in divergence messages as the last good state when it exists. */
  lastCheckpoint?: string;
  /** False on data-parallel ranks other than 0: no progress bar, no checkpoint hook. Default true. */
  isMainProcess?: boolean;
  progressStream?: ProgressStream;
}

export interface TrainingLoopResult {
  /** Epochs completed, counting those done before a resume. */
  epochsDone: number;
  /** Optimizer steps taken by this call. */
  steps: number;
  /** 'stopped' = a stop request or maxSteps ended it before the last epoch; 'early' = endOfEpoch asked to stop. */
  ending: 'completed' | 'early' | 'stopped';
}

const emptyProgress = (): EpochProgress => ({ stepInEpoch: 0, lossSum: 0, seen: 0, sums: {}, seconds: 0 });

/** Runs epochs from options.start up to options.epochs; see TrainingHooks for what happens when. */
export async function runTrainingLoop<B extends { size: number }>(o: TrainingLoopOptions<B>): Promise<TrainingLoopResult> {
  const { hooks, optimizer: opt, label } = o;
  const main = o.isMainProcess ?? true;
  const quiet = { write: () => true, isTTY: false };
  const lastGood = (): string => (o.lastCheckpoint && existsSync(o.lastCheckpoint) ? o.lastCheckpoint : 'no checkpoint');
  const checkWeights = (when: string): void => {
    const bad = nonFiniteTensor(o.modules);
    if (bad) {
      throw new TrainingDivergedError(`${label}: the weights became non-finite (${bad} holds Inf or NaN) ${when}; ` +
        `training stopped, and ${lastGood()} holds the last good state. Try a lower learning rate.`);
    }
  };
  // A signal handler runs only when the event loop polls for I/O; prefetched batches never make
  // the loop wait, so it yields explicitly after every step when a stop can be requested. Two
  // setImmediate turns: the first may still run in the current loop iteration, before its poll
  // phase has seen a signal that arrived during the step; the second runs after the next poll.
  const stopRequested = async (): Promise<boolean> => {
    if (o.signal && !o.signal.aborted) {
      await yieldToEventLoop();
      await yieldToEventLoop();
    }
    return o.signal?.aborted === true;
  };
  let steps = 0;
  let partial = o.start?.partial;
  for (let epoch = o.start?.epoch ?? 0; epoch < o.epochs; epoch++) {
    if (o.agreedStop) {
      if (o.signal) await yieldToEventLoop(); // a signal seen now is voted on at the next step
    } else if (await stopRequested()) {
      return { epochsDone: epoch, steps, ending: 'stopped' };
    }
    const p: EpochProgress = partial ? { ...partial, sums: { ...partial.sums } } : emptyProgress();
    partial = undefined;
    await hooks.beforeEpoch?.(epoch);
    const perEpoch = o.data.batchesPerEpoch;
    const bar = new ProgressBar({ total: perEpoch * o.batchSize, label: `${label} epoch ${epoch + 1}/${o.epochs}`, unit: 'img', stream: main ? o.progressStream : quiet });
    bar.update(p.stepInEpoch * o.batchSize);
    if (hooks.trainingMode) hooks.trainingMode();
    else for (const m of Object.values(o.modules)) m.train();
    const t0 = performance.now();
    let index = 0;
    for await (const batch of o.data.epoch(epoch)) {
      if (index++ < p.stepInEpoch) continue;
      const ctx: StepContext = { epoch, step: p.stepInEpoch, stepsPerEpoch: perEpoch };
      if (o.learningRate) opt.lr = o.learningRate(epoch + p.stepInEpoch / perEpoch);
      const { loss, counts, agreed } = tidy(() => {
        opt.zeroGrad();
        const out = hooks.computeLoss(batch, ctx);
        const value = out.loss.item();
        if (!Number.isFinite(value)) {
          throw new TrainingDivergedError(`${label}: the loss became ${value} at epoch ${epoch + 1}, step ${p.stepInEpoch + 1}; ` +
            `training stopped, and ${lastGood()} holds the last good state. Try a lower learning rate.`);
        }
        out.loss.backward();
        const decision = hooks.afterBackward?.({ ...ctx, stopRequested: o.signal?.aborted === true });
        opt.step();
        return { loss: value, counts: out.counts?.(), agreed: decision ? decision.stop : undefined };
      });
      p.stepInEpoch++;
      p.lossSum += loss * batch.size;
      p.seen += batch.size;
      for (const [k, v] of Object.entries(counts ?? {})) p.sums[k] = (p.sums[k] ?? 0) + v;
      steps++;
      bar.tick(hooks.batchImages?.(batch, ctx) ?? batch.size, { loss: p.lossSum / p.seen, ...hooks.progressFields?.(p) });
      const limitReached = o.maxSteps !== undefined && steps >= o.maxSteps;
      const local = await stopRequested(); // yields, so a signal is seen before the next step
      if ((o.agreedStop ? agreed === true : local || agreed === true) || limitReached) {
        p.seconds += (performance.now() - t0) / 1000;
        bar.finish();
        hooks.gatherProgress?.(p);
        checkWeights(`at epoch ${epoch + 1}, step ${p.stepInEpoch}`);
        if (main) hooks.checkpoint?.({ epochsDone: epoch, partial: p });
        return { epochsDone: epoch, steps, ending: 'stopped' };
      }
    }
    p.seconds += (performance.now() - t0) / 1000;
    bar.finish();
    hooks.gatherProgress?.(p);
    checkWeights(`after epoch ${epoch + 1}`);
    const decision = await hooks.endOfEpoch?.(epoch, p);
    if (main) hooks.checkpoint?.({ epochsDone: epoch + 1 });
    if (decision?.stop) return { epochsDone: epoch + 1, steps, ending: 'early' };
  }
  return { epochsDone: Math.max(o.epochs, o.start?.epoch ?? 0), steps, ending: 'completed' };
}

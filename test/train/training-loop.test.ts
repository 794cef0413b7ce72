// The training loop's hooks: when each is called, what afterBackward may change, early stopping,
// ranks other than 0, stop requests, mid-epoch resumption and NaN detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear } from '../../src/nn/linear.js';
import { SGD } from '../../src/optim/optimizer.js';
import { runTrainingLoop, TrainingDivergedError, type EpochProgress, type TrainingHooks } from '../../src/train/training-loop.js';
import { liveTensors, manualSeed, noGrad, tensor, F } from '../../src/index.js';

interface ToyBatch { size: number; x: number[][]; y: number[] }

/** 4 batches per epoch of 2 points each, the same every epoch. */
const data = {
  batchesPerEpoch: 4,
  async *epoch(): AsyncGenerator<ToyBatch> {
    for (let i = 0; i < 4; i++) yield { size: 2, x: [[i, 1], [1, -i]], y: [i % 2, (i + 1) % 2] };
  },
};

function setup(lr = 0.1) {
  manualSeed(0);
  const model = new Linear({ inFeatures: 2, outFeatures: 2 });
  const opt = new SGD(model.parameters(), { lr });
  const events: string[] = [];
  const hooks: TrainingHooks<ToyBatch> = {
    beforeEpoch: (e) => { events.push(`beforeEpoch ${e}`); },
    computeLoss: (b, ctx) => {
      events.push(`loss ${ctx.epoch}.${ctx.step}`);
      const logits = model.forward(tensor(b.x.flat(), { shape: [b.size, 2] }));
      return { loss: F.crossEntropy(logits, tensor(b.y).to('int64')), counts: () => ({ seen2: b.size }) };
    },
    afterBackward: (ctx) => { events.push(`afterBackward ${ctx.epoch}.${ctx.step}`); },
    endOfEpoch: (e, p) => { events.push(`endOfEpoch ${e} steps=${p.stepInEpoch} seen=${p.seen} sums=${p.sums.seen2}`); },
    checkpoint: (s) => { events.push(`checkpoint ${s.epochsDone}${s.partial ? ` partial ${s.partial.stepInEpoch}` : ''}`); },
  };
  const quiet = { write: () => true };
  const dispose = () => { opt.dispose(); model.dispose(); };
  return { model, opt, events, hooks, quiet, dispose };
}

test('hooks run in order: beforeEpoch, then per step computeLoss → afterBackward, then endOfEpoch → checkpoint', async () => {
  const base = liveTensors();
  const s = setup();
  const r = await runTrainingLoop({ label: 'toy', epochs: 2, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, progressStream: s.quiet });
  assert.deepEqual(r, { epochsDone: 2, steps: 8, ending: 'completed' });
  const epoch = (e: number) => [`beforeEpoch ${e}`, ...[0, 1, 2, 3].flatMap((i) => [`loss ${e}.${i}`, `afterBackward ${e}.${i}`]), `endOfEpoch ${e} steps=4 seen=8 sums=8`, `checkpoint ${e + 1}`];
  assert.deepEqual(s.events, [...epoch(0), ...epoch(1)]);
  s.dispose();
  assert.equal(liveTensors(), base);
});

test('afterBackward sees the gradients before the optimizer step (zeroing them freezes the weights)', async () => {
  const s = setup();
  const before = s.model.weight.toNumbers();
  s.hooks.afterBackward = () => noGrad(() => { for (const p of s.model.parameters()) p.grad!.mul_(0); });
  await runTrainingLoop({ label: 'toy', epochs: 1, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, progressStream: s.quiet });
  assert.deepEqual(s.model.weight.toNumbers(), before);
  s.dispose();
});

test('endOfEpoch returning { stop: true } ends the loop after that epoch\'s checkpoint', async () => {
  const s = setup();
  s.hooks.endOfEpoch = () => ({ stop: true });
  const r = await runTrainingLoop({ label: 'toy', epochs: 5, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, progressStream: s.quiet });
  assert.deepEqual(r, { epochsDone: 1, steps: 4, ending: 'early' });
  assert.equal(s.events.at(-1), 'checkpoint 1');
  s.dispose();
});

test('ranks other than 0 (isMainProcess false) train the same steps but never call checkpoint', async () => {
  const s = setup();
  const r = await runTrainingLoop({ label: 'toy', epochs: 1, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, isMainProcess: false, progressStream: { write: () => assert.fail('no progress on other ranks') } });
  assert.equal(r.steps, 4);
  assert.ok(!s.events.some((e) => e.startsWith('checkpoint')));
  s.dispose();
});

test('a stop request finishes the current step, checkpoints the partial epoch, and resuming continues from the next step', async () => {
  const s = setup();
  const controller = new AbortController();
  const computeLoss = s.hooks.computeLoss;
  s.hooks.computeLoss = (b, ctx) => {
    if (ctx.step === 1) controller.abort();
    return computeLoss(b, ctx);
  };
  let partial: EpochProgress | undefined;
  s.hooks.checkpoint = (st) => { partial = st.partial; };
  const r = await runTrainingLoop({ label: 'toy', epochs: 2, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, signal: controller.signal, progressStream: s.quiet });
  assert.deepEqual(r, { epochsDone: 0, steps: 2, ending: 'stopped' });
  assert.equal(partial?.stepInEpoch, 2);
  s.events.length = 0;
  s.hooks.computeLoss = computeLoss;
  const resumed = await runTrainingLoop({ label: 'toy', epochs: 1, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, start: { epoch: 0, partial }, progressStream: s.quiet });
  assert.equal(resumed.steps, 2);
  assert.deepEqual(s.events.filter((e) => e.startsWith('loss')), ['loss 0.2', 'loss 0.3']);
  assert.ok(s.events.includes('endOfEpoch 0 steps=4 seen=8 sums=8'), s.events.join('\n'));
  s.dispose();
});

test('a non-finite loss throws TrainingDivergedError before backward; non-finite weights are caught before the checkpoint', async () => {
  const s = setup();
  noGrad(() => s.model.weight.mul_(Number.NaN));
  await assert.rejects(runTrainingLoop({ label: 'toy', epochs: 1, data, optimizer: s.opt, modules: { model: s.model }, hooks: s.hooks, batchSize: 2, progressStream: s.quiet }),
    (e: Error) => e instanceof TrainingDivergedError && /toy: the loss became NaN at epoch 1, step 1/.test(e.message));
  s.dispose();
  const t = setup();
  // Inf in a parameter the loss never reads: the loss stays finite, the weights do not.
  const extra = new Linear({ inFeatures: 1, outFeatures: 1 });
  noGrad(() => extra.bias!.fill_(Number.POSITIVE_INFINITY));
  await assert.rejects(runTrainingLoop({ label: 'toy', epochs: 1, data, optimizer: t.opt, modules: { model: t.model, extra }, hooks: t.hooks, batchSize: 2, progressStream: t.quiet }),
    (e: Error) => e instanceof TrainingDivergedError && /the weights became non-finite \(extra\.bias holds Inf or NaN\) after epoch 1/.test(e.message));
  assert.ok(!t.events.some((e) => e.startsWith('checkpoint') || e.startsWith('endOfEpoch')));
  extra.dispose();
  t.dispose();
});

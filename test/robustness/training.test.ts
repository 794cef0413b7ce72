// Training that goes wrong: a diverging run stops with the NaN message and keeps the last good
// checkpoint (never one holding Inf/NaN); the autoencoder shares the loop's NaN detection and
// clean stop; a checkpoint is never evaluated on data with other classes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, tempDir } from './bad-input.js';
import { FOUR_COLOURS, writeColourFolder, writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { train, TrainingDivergedError, type TrainConfig } from '../../src/train/trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { trainAutoencoder } from '../../src/anomaly/train-autoencoder.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { evalCommand } from '../../src/cli/eval.js';
import { liveTensors, manualSeed, noGrad } from '../../src/index.js';

const root = tempDir('training');
const data = join(root, 'data');
const cache = join(root, 'cache');
const ready = writeSyntheticFolder(data, { train: 32, test: 8 }, 11);
// Generated in the background; a filtered run may end first (then the folder is gone): not an unhandled error.
ready.catch(() => {});
const quiet = { write: () => true, isTTY: false };
const silent = () => {};

async function splits() {
  await ready;
  return loadCifar10({ source: data, cacheDir: cache, split: 'both' });
}

async function trainHead(dir: string, config: Partial<TrainConfig>, opts: { resume?: boolean } = {}) {
  const { train: trainSet, test } = await splits();
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'convnet' });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 3 });
  const full: TrainConfig = { epochs: 1, batchSize: 16, optimizer: { name: 'sgd', lr: 0.01, momentum: 0.9 }, seed: 0, normalization: { kind: 'unit' }, ...config };
  try {
    return await train({ model, head, train: trainSet, val: test, config: full, dir, log: silent, progressStream: quiet, modelSpec: { name: 'convnet' }, ...opts });
  } finally {
    model.dispose();
    head.dispose();
  }
}

function finiteCheckpoint(file: string): boolean {
  const ckpt = loadCheckpoint(file);
  const model = createEmbeddingNet({ name: 'convnet' });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 3 });
  try {
    ckpt.restore({ modules: { model, head }, rng: false });
    return [model, head].every((m) => Object.values(m.stateDict()).every((t) => t.dtype !== 'float32' || t.toNumbers().every(Number.isFinite)));
  } finally {
    model.dispose();
    head.dispose();
  }
}

badInput('training/diverged-weights', 'SGD with lr 1e6 leaves Inf in a BatchNorm running_var: the run stops and the last good checkpoint stays', async () => {
  const base = liveTensors();
  const dir = join(root, 'diverge');
  const good = await trainHead(dir, { epochs: 1 });
  assert.equal(good.history.length, 1);
  await assert.rejects(trainHead(dir, { epochs: 2, optimizer: { name: 'sgd', lr: 1e6, momentum: 0.9 } }, { resume: true }),
    (e: Error) => e instanceof TrainingDivergedError && /softmax: the (weights became non-finite \(model\.\S+ holds Inf or NaN\)|loss became \S+) .*holds the last good state\. Try a lower learning rate\./.test(e.message));
  const last = loadCheckpoint(join(dir, 'last.ckpt'));
  last.dispose();
  assert.equal(last.epoch, 1, 'last.ckpt is still the good epoch 1');
  assert.ok(finiteCheckpoint(join(dir, 'last.ckpt')), 'last.ckpt holds finite weights');
  assert.ok(finiteCheckpoint(join(dir, 'best.ckpt')), 'best.ckpt holds finite weights');
  assert.equal(liveTensors(), base);
});

badInput('training/diverged-from-start', 'a run that diverges in its first epoch writes no checkpoint at all', async () => {
  const dir = join(root, 'diverge-first');
  await assert.rejects(trainHead(dir, { epochs: 2, optimizer: { name: 'sgd', lr: 1e6, momentum: 0.9 } }), TrainingDivergedError);
  assert.ok(!existsSync(join(dir, 'best.ckpt')) && !existsSync(join(dir, 'last.ckpt')), 'no checkpoint of a diverged model');
});

badInput('training/autoencoder-nan-weights', 'the autoencoder stops with the NaN message when its loss stops being finite', async () => {
  const { train: trainSet } = await splits();
  const base = liveTensors();
  manualSeed(0);
  const ae = new ConvAutoencoder();
  noGrad(() => ae.parameters()[0].mul_(Number.NaN));
  const dir = join(root, 'ae-nan');
  await assert.rejects(trainAutoencoder({ model: ae, train: trainSet, epochs: 1, batchSize: 16, seed: 0, dir, log: silent, progressStream: quiet }),
    (e: Error) => e instanceof TrainingDivergedError && /autoencoder: the loss became NaN at epoch 1, step 1; training stopped, and no checkpoint holds the last good state/.test(e.message));
  assert.ok(!existsSync(join(dir, 'last.ckpt')));
  ae.dispose();
  assert.equal(liveTensors(), base);
});

badInput('training/autoencoder-stop-request', 'a stop request mid-epoch stops the autoencoder cleanly; --resume ends exactly as an uninterrupted run', async () => {
  const { train: trainSet } = await splits();
  const run = async (dir: string, signal?: AbortSignal, resume = false, progress: typeof quiet = quiet) => {
    manualSeed(3);
    const ae = new ConvAutoencoder();
    try {
      const r = await trainAutoencoder({ model: ae, train: trainSet, epochs: 2, batchSize: 8, seed: 3, dir, log: silent, progressStream: progress, signal, resume });
      return { r, weights: ae.parameters()[0].toNumbers() };
    } finally {
      ae.dispose();
    }
  };
  const straight = await run(join(root, 'ae-straight'));
  const dir = join(root, 'ae-stopped');
  const controller = new AbortController();
  // The progress bar's first line comes ~10% into epoch 1: ask to stop there.
  const stopper = { write: () => { controller.abort(); return true; }, isTTY: false };
  const stopped = await run(dir, controller.signal, false, stopper);
  assert.equal(stopped.r.interrupted, true);
  assert.equal(stopped.r.history.length, 0);
  const ckpt = loadCheckpoint(join(dir, 'last.ckpt'));
  ckpt.dispose();
  const partial = ckpt.extra.partial as { stepInEpoch: number };
  assert.equal(ckpt.epoch, 0);
  assert.ok(partial.stepInEpoch >= 1 && partial.stepInEpoch < 12, `stopped at step ${partial.stepInEpoch} of 12`);
  const resumed = await run(dir, undefined, true);
  assert.equal(resumed.r.interrupted, false);
  assert.deepEqual(resumed.r.history.map((e) => e.train_loss), straight.r.history.map((e) => e.train_loss));
  assert.deepEqual(resumed.weights, straight.weights);
});

badInput('eval/class-count-mismatch', 'a 3-class checkpoint evaluated on a 4-class dataset is refused', async () => {
  const dir = join(root, 'for-eval');
  await trainHead(dir, { epochs: 1 });
  const four = join(root, 'four');
  await writeColourFolder(four, { train: 2, test: 3 }, FOUR_COLOURS, 5);
  await assert.rejects(evalCommand(['--checkpoint', join(dir, 'best.ckpt'), '--data', four, '--cache-dir', cache]),
    /best\.ckpt was trained on 3 classes \(blue, green, red\) but the test split of .*four has 4 \(blue, green, red, yellow\): the data has 'yellow', unknown to the model/);
});

badInput('eval/class-name-mismatch', 'a checkpoint evaluated on a dataset with as many classes under other names is refused', async () => {
  const dir = join(root, 'for-eval');
  if (!existsSync(join(dir, 'best.ckpt'))) await trainHead(dir, { epochs: 1 });
  const other = join(root, 'other-names');
  await writeColourFolder(other, { train: 2, test: 3 }, { cyan: [40, 200, 200], magenta: [200, 40, 200], yellow: [200, 200, 40] }, 6);
  await assert.rejects(evalCommand(['--checkpoint', join(dir, 'best.ckpt'), '--data', other, '--cache-dir', cache]),
    /trained on 3 classes \(blue, green, red\) but .* has 3 \(cyan, magenta, yellow\): the data has 'cyan', 'magenta', 'yellow', unknown to the model; the model has 'blue', 'green', 'red', absent from the data/);
});

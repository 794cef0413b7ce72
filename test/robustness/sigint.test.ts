// Ctrl-C at every stage of a run, as real child processes: the current step finishes, a checkpoint
// is written, the command exits with 130, and --resume completes the run. Before training starts
// (decoding) there is nothing to save: the command exits with 130 at once and leaves no debris.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, runCli, tempDir } from './bad-input.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const root = tempDir('sigint');
const data = join(root, 'data');
const cache = join(root, 'cache');
// Enough images that an epoch and a validation pass last about a second even on a quiet machine.
const dataReady = writeSyntheticFolder(data, { train: 160, test: 150 }, 7);
// Generated in the background; a filtered run may end first (then the folder is gone): not an unhandled error.
dataReady.catch(() => {});
const common = ['--data', data, '--cache-dir', cache, '--backbone', 'convnet', '--batch-size', '8', '--lr', '0.003'];

function checkpointState(path: string): { epoch: number; step: number | null } {
  const ckpt = loadCheckpoint(path);
  ckpt.dispose();
  const partial = ckpt.extra.partial as { stepInEpoch: number } | undefined;
  return { epoch: ckpt.epoch, step: partial ? partial.stepInEpoch : null };
}

badInput('signal/sigint-first-epoch', 'Ctrl-C early in the first epoch stops after this step, not at the next epoch', async () => {
  await dataReady;
  const out = join(root, 'first');
  const args = ['train', '--head', 'softmax', ...common, '--epochs', '2', '--out', out];
  const first = await runCli(args, { interruptOn: /softmax epoch 1\/2 \d+\/\d+ \(\d+%\) elapsed/ });
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /interrupt received — finishing this step/);
  assert.match(first.stderr, /--resume to continue/);
  const state = checkpointState(join(out, 'checkpoints', 'softmax', 'last.ckpt'));
  assert.equal(state.epoch, 0, 'stopped inside the first epoch');
  assert.ok(state.step !== null && state.step > 0 && state.step < 60, `stopped after step ${state.step} of 60`);
  const second = await runCli([...args, '--resume']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`resumed from .*last\\.ckpt at epoch 0, step ${state.step}`));
  const done = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(done.heads[0].history.map((e: { epoch: number }) => e.epoch), [1, 2]);
});

badInput('signal/sigint-last-epoch', 'Ctrl-C in the only epoch of the first head stops the command; later heads never train', async () => {
  await dataReady;
  const out = join(root, 'last');
  const run = await runCli(['compare', '--heads', 'softmax,l2softmax', ...common, '--epochs', '1', '--max-train', '240', '--out', out],
    { interruptOn: /softmax epoch 1\/1 \d+\/\d+ \(\d+%\) elapsed/ });
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /interrupt received/);
  assert.match(run.stderr, /stopped during 'softmax'/);
  assert.ok(!existsSync(join(out, 'checkpoints', 'l2softmax')), 'l2softmax was not trained');
  const state = checkpointState(join(out, 'checkpoints', 'softmax', 'last.ckpt'));
  assert.equal(state.epoch, 0);
  assert.ok(state.step !== null && state.step < 30, `stopped mid-epoch (step ${state.step} of 30)`);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(results.heads.map((h: { name: string }) => h.name), ['softmax']);
});

badInput('signal/sigint-during-validation', 'Ctrl-C during validation ends the run at that epoch boundary, with the epoch saved', async () => {
  await dataReady;
  const out = join(root, 'validation');
  const args = ['train', '--head', 'softmax', ...common, '--epochs', '2', '--max-train', '120', '--out', out];
  // The bar's "done" line is printed just before validation of 450 images starts.
  const run = await runCli(args, { interruptOn: /softmax epoch 1\/2 \S+ \(100%\) done in/ });
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /softmax epoch 1\/2: loss/, 'the epoch was validated and logged');
  assert.deepEqual(checkpointState(join(out, 'checkpoints', 'softmax', 'last.ckpt')), { epoch: 1, step: null }, 'no step of epoch 2 was taken');
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(results.heads[0].history.length, 1);
  const resumed = await runCli([...args, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from .*last\.ckpt at epoch 1\n/);
});

badInput('signal/sigint-during-decoding', 'Ctrl-C while the dataset is decoded exits with 130 at once and leaves no partial cache', async () => {
  await dataReady;
  const freshCache = join(root, 'fresh-cache');
  const run = await runCli(['train', '--head', 'softmax', '--data', data, '--cache-dir', freshCache, '--backbone', 'convnet', '--epochs', '1', '--out', join(root, 'decoding')],
    { interruptOn: /loading the data/ });
  assert.equal(run.signal, null, 'the process exited by itself rather than being killed by the signal');
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /interrupted before training started; nothing to save/);
  assert.ok(run.seconds < 15, `exited after ${run.seconds.toFixed(1)} s`);
  const left = existsSync(freshCache) ? readdirSync(freshCache) : [];
  assert.deepEqual(left.filter((f) => f.includes('.tmp')), [], 'no temporary cache file left behind');
});

badInput('signal/sigint-serve', 'Ctrl-C to `serve` closes it gracefully with exit 0 (the command handles SIGINT itself)', async () => {
  const { tinyDetector } = await import('../serve/tiny-detector.js');
  const detector = tinyDetector('knn');
  const path = join(root, 'detector.dmdet');
  await detector.save(path);
  detector.dispose();
  const run = await runCli(['serve', '--detector', path, '--port', '0', '--threads', '1'], { interruptOnStdout: /listening on http/, killAfterMs: 30_000 });
  assert.match(run.stdout, /listening on http/);
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /nothing to save|interrupt received/);
});

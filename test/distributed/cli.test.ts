// The training commands end to end with several processes on a tiny generated dataset:
// `compare --nproc 2` launches two workers and writes rank 0's results; a rank killed with
// SIGKILL mid-run makes the other exit non-zero within --timeout naming it, the checkpoint stays
// intact, and --resume with another number of processes completes the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributedSupport } from '../../src/distributed/process-group.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { fileRendezvous, scriptPath, startRank } from './spawn-ranks.js';

const cli = scriptPath('cli');
const skip = distributedSupport().gloo ? false : distributedSupport().reason;
const root = mkdtempSync(join(tmpdir(), 'dm-dist-cli-'));
const data = join(root, 'data');
const common = ['--data', data, '--cache-dir', join(root, 'cache'), '--backbone', 'convnet', '--batch-size', '12', '--lr', '0.003', '--timeout', '5'];
const notDistributed = { RANK: '', WORLD_SIZE: '' };

test('compare --nproc 2 trains both heads with two workers; rank 0 writes the results', { skip }, async () => {
  await writeSyntheticFolder(data, { train: 24, test: 8 });
  const out = join(root, 'cmp');
  const run = await startRank(cli, ['compare', ...common, '--epochs', '2', '--nproc', '2', '--out', out], 0, 1, notDistributed).done;
  assert.equal(run.code, 0, run.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(results.heads.map((h: { name: string }) => h.name), ['softmax', 'l2softmax']);
  for (const h of results.heads) {
    assert.equal(h.history.length, 2);
    // Epoch sums are over both ranks: 72 images an epoch, 12 a step.
    assert.ok(h.history.every((e: { train_loss: number }) => Number.isFinite(e.train_loss)));
    assert.ok(h.best_val_acc > 0.5, `${h.name} learned the colours`);
  }
  assert.ok(existsSync(join(out, 'checkpoints', 'l2softmax', 'best.ckpt')));
  assert.equal(run.stderr.match(/^softmax epoch 1\/2:/gm)?.length, 1, 'one rank prints the epoch lines');
  assert.match(run.stdout, /best_val_acc/);
});

test('a rank killed mid-run: the other exits non-zero within --timeout naming it; --resume with 1 process completes', { skip }, async () => {
  if (!existsSync(data)) await writeSyntheticFolder(data, { train: 24, test: 8 });
  const out = join(root, 'killed');
  const trainArgs = (epochs: number): string[] => ['train', '--head', 'softmax', ...common, '--epochs', String(epochs), '--out', out];
  const args = trainArgs(40);
  const rendezvous = fileRendezvous();
  const r0 = startRank(cli, args, 0, 2, rendezvous);
  const r1 = startRank(cli, args, 1, 2, rendezvous);
  await r0.output(/softmax epoch 2\/40:/); // rank 0 has written a checkpoint and training goes on
  r1.child.kill('SIGKILL');
  const killedAt = performance.now();
  const [e0, e1] = await Promise.all([r0.done, r1.done]);
  const stopAfter = (performance.now() - killedAt) / 1000;
  assert.equal(e1.signal, 'SIGKILL');
  assert.notEqual(e0.code, 0);
  assert.match(e0.stderr, /lost rank 1/);
  assert.ok(stopAfter < 5 + 2, `rank 0 stopped ${stopAfter.toFixed(1)} s after the kill`);
  const ckpt = join(out, 'checkpoints', 'softmax', 'last.ckpt');
  const saved = loadCheckpoint(ckpt); // throws on a damaged file (it carries a checksum)
  saved.dispose();
  assert.ok(saved.epoch >= 2 && saved.epoch < 40, `the last checkpoint is intact (epoch ${saved.epoch})`);
  const epochs = saved.epoch + 2;
  const resumed = await startRank(cli, [...trainArgs(epochs), '--resume'], 0, 1, notDistributed).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from .*last\.ckpt at epoch [1-9]/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(results.heads[0].history.map((e: { epoch: number }) => e.epoch), Array.from({ length: epochs }, (_, i) => i + 1), 'the resumed run finished every epoch');
});

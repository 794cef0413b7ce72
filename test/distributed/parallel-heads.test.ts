// compare --parallel-heads: each head trains in its own process at the same time, and the gathered
// results.json holds the same per-head results as a sequential run with the same seed and threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { threadsPerJob } from '../../src/distributed/parallel-jobs.js';
import type { CompareResults } from '../../src/cli/compare.js';
import { scriptPath, startRank } from './spawn-ranks.js';

const cli = scriptPath('cli');
const root = mkdtempSync(join(tmpdir(), 'dm-parallel-heads-'));
const data = join(root, 'data');
const common = ['compare', '--data', data, '--cache-dir', join(root, 'cache'), '--backbone', 'convnet', '--batch-size', '12', '--lr', '0.003', '--epochs', '2', '--threads', '1'];
const notDistributed = { RANK: '', WORLD_SIZE: '' };
const TIMING = new Set(['seconds', 'images_per_s']);

test('threadsPerJob splits the cores evenly, at least one thread each', () => {
  assert.equal(threadsPerJob(2, 16), 8);
  assert.equal(threadsPerJob(3, 2), 1);
  assert.throws(() => threadsPerJob(0, 4), /positive number of jobs/);
});

test('compare --parallel-heads gives the per-head results of a sequential run (same seed, 1 thread each)', async () => {
  await writeSyntheticFolder(data, { train: 24, test: 8 });
  const seqOut = join(root, 'sequential');
  const parOut = join(root, 'parallel');
  const seq = await startRank(cli, [...common, '--out', seqOut], 0, 1, notDistributed).done;
  assert.equal(seq.code, 0, seq.stderr);
  const par = await startRank(cli, [...common, '--parallel-heads', '--out', parOut], 0, 1, notDistributed).done;
  assert.equal(par.code, 0, par.stderr);
  assert.match(par.stderr, /training softmax, l2softmax in 2 processes at the same time, 1 libtorch thread each/);
  const a = JSON.parse(readFileSync(join(seqOut, 'results.json'), 'utf8')) as CompareResults;
  const b = JSON.parse(readFileSync(join(parOut, 'results.json'), 'utf8')) as CompareResults;
  assert.deepEqual(b.heads.map((h) => h.name), ['softmax', 'l2softmax']);
  assert.deepEqual(b.dataset, a.dataset);
  assert.deepEqual(b.config, a.config);
  for (const [i, h] of b.heads.entries()) {
    const ref = a.heads[i];
    assert.deepEqual(h.config, ref.config);
    assert.equal(h.best_epoch, ref.best_epoch);
    assert.equal(h.history.length, ref.history.length);
    for (const [e, rec] of h.history.entries()) {
      for (const [k, v] of Object.entries(rec)) {
        if (TIMING.has(k)) continue;
        const want = (ref.history[e] as unknown as Record<string, number | null>)[k];
        if (typeof v === 'number' && typeof want === 'number') assert.ok(Math.abs(v - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${h.name} epoch ${e + 1} ${k}: ${v} vs ${want}`);
        else assert.equal(v, want, `${h.name} epoch ${e + 1} ${k}`);
      }
    }
  }
  for (const f of ['val_acc.svg', 'val_acc.png', 'report.html', 'checkpoints/softmax/best.ckpt', 'checkpoints/l2softmax/last.ckpt']) assert.ok(existsSync(join(parOut, f)), `${f} exists`);
  assert.ok(!existsSync(join(parOut, '.parallel-heads')), 'the hand-over files are removed');
  assert.match(par.stdout, /best_val_acc/);
});

test('--parallel-heads with --nproc is a usage error', async () => {
  const r = await startRank(cli, [...common, '--parallel-heads', '--nproc', '2', '--out', join(root, 'both')], 0, 1, notDistributed).done;
  assert.equal(r.code, 2);
  assert.match(r.stderr, /either --parallel-heads or --nproc/);
});

// compare/anomaly --parallel-heads: each head trains in its own process at the same time, and the gathered
// results.json holds the same per-head results as a sequential run with the same seed and threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { FOUR_COLOURS, writeColourFolder, writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import type { AnomalyResults } from '../../src/cli/anomaly.js';
import { repoRoot } from '../helpers.js';
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

test('anomaly --parallel-heads: the head and the autoencoder in their own processes give the rows and detector of a sequential run', async () => {
  const colours = join(root, 'colours');
  await writeColourFolder(colours, { train: 24, test: 8 }, FOUR_COLOURS, 3);
  const args = ['anomaly', '--data', colours, '--cache-dir', join(root, 'cache4'), '--backbone', 'convnet', '--batch-size', '12', '--lr', '0.003', '--epochs', '2', '--threads', '1',
    '--normal', 'red', '--anomaly', 'blue', '--heads', 'softmax,l2softmax', '--score', 'knn,msp', '--score-options', '{"knn":{"k":3}}', '--baseline', 'autoencoder'];
  const seqOut = join(root, 'anomaly-sequential');
  const parOut = join(root, 'anomaly-parallel');
  const seq = await startRank(cli, [...args, '--out', seqOut], 0, 1, notDistributed).done;
  assert.equal(seq.code, 0, seq.stderr);
  const par = await startRank(cli, [...args, '--parallel-heads', '--out', parOut], 0, 1, notDistributed).done;
  assert.equal(par.code, 0, par.stderr);
  assert.match(par.stderr, /training softmax, l2softmax, autoencoder in 3 processes at the same time/);
  const a = JSON.parse(readFileSync(join(seqOut, 'anomaly.json'), 'utf8')) as AnomalyResults;
  const b = JSON.parse(readFileSync(join(parOut, 'anomaly.json'), 'utf8')) as AnomalyResults;
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'anomaly-results.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(b), JSON.stringify(validate.errors));
  assert.deepEqual(b.protocol, a.protocol);
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.results.map((r) => `${r.head}/${r.score}`), a.results.map((r) => `${r.head}/${r.score}`), 'rows in the sequential order');
  for (const [i, r] of b.results.entries()) {
    for (const k of ['auroc', 'aupr', 'fpr_at_95_tpr', 'best_val_acc'] as const) {
      const want = a.results[i][k];
      assert.ok(Math.abs((r[k] ?? 0) - (want ?? 0)) <= 1e-6, `${r.head}/${r.score} ${k}: ${r[k]} vs ${want}`);
    }
  }
  assert.deepEqual(b.autoencoder!.history.map((e) => e.train_loss.toFixed(6)), a.autoencoder!.history.map((e) => e.train_loss.toFixed(6)));
  assert.equal(`${b.detector!.head}/${b.detector!.score}`, `${a.detector!.head}/${a.detector!.score}`, 'the same row wins the detector');
  assert.equal(b.detector!.path, join(parOut, 'detector.dmdet'));
  assert.ok(Math.abs(b.detector!.threshold.value - a.detector!.threshold.value) <= 1e-5 * Math.max(1, Math.abs(a.detector!.threshold.value)));
  const detector = AnomalyDetector.load(b.detector!.path);
  detector.dispose();
  for (const f of ['roc.svg', 'scores.png', 'embedding.svg', 'report.html']) assert.ok(existsSync(join(parOut, f)), `${f} exists`);
  assert.ok(!existsSync(join(parOut, '.parallel-heads')), 'the hand-over files are removed');
});

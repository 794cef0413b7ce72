// `anomaly` and `fit-detector` with --nproc 2 on a tiny generated dataset (loopback only): the
// ranks train the head and the autoencoder data-parallel, rank 0 alone scores and writes; the
// outputs are those of a single-process run (schema-valid anomaly.json, a loadable detector).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { distributedSupport } from '../../src/distributed/process-group.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { FOUR_COLOURS, writeColourFolder } from '../cli/synthetic-folder.js';
import { repoRoot } from '../helpers.js';
import type { AnomalyResults } from '../../src/cli/anomaly.js';
import { scriptPath, startRank } from './spawn-ranks.js';

const cli = scriptPath('cli');
const skip = distributedSupport().gloo ? false : distributedSupport().reason;
const root = mkdtempSync(join(tmpdir(), 'dm-dist-anomaly-'));
const data = join(root, 'data');
const common = ['--data', data, '--cache-dir', join(root, 'cache'), '--backbone', 'convnet', '--batch-size', '12', '--lr', '0.003', '--timeout', '10'];
const notDistributed = { RANK: '', WORLD_SIZE: '' };

test('anomaly --nproc 2: head and autoencoder train on two ranks; rank 0 writes a valid anomaly.json and a loadable detector', { skip }, async () => {
  await writeColourFolder(data, { train: 24, test: 8 }, FOUR_COLOURS, 3);
  const out = join(root, 'anomaly');
  const run = await startRank(cli, ['anomaly', ...common, '--normal', 'red', '--anomaly', 'blue', '--heads', 'softmax', '--score', 'knn',
    '--score-options', '{"knn":{"k":3}}', '--baseline', 'autoencoder', '--epochs', '2', '--nproc', '2', '--out', out], 0, 1, notDistributed).done;
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8')) as AnomalyResults;
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'anomaly-results.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(json.results.map((r) => `${r.head}/${r.score}`).sort(), ['autoencoder/reconstruction', 'softmax/knn']);
  assert.equal(json.heads[0].history.length, 2);
  assert.equal(json.autoencoder!.history.length, 2);
  // Epoch sums cover both ranks' shards: 72 training images, 6 global batches of 12.
  for (const e of [...json.heads[0].history, ...json.autoencoder!.history]) assert.ok(Number.isFinite(e.train_loss) && e.train_loss > 0);
  for (const f of ['roc.svg', 'scores.png', 'report.html', 'checkpoints/softmax/last.ckpt', 'checkpoints/autoencoder/last.ckpt']) assert.ok(existsSync(join(out, f)), `${f} exists`);
  assert.equal(run.stderr.match(/^softmax epoch 1\/2:/gm)?.length, 1, 'one rank prints the epoch lines');
  assert.equal(run.stderr.match(/^autoencoder epoch 2\/2:/gm)?.length, 1, 'one rank prints the autoencoder epoch lines');
  const detector = AnomalyDetector.load(json.detector!.path);
  try {
    assert.equal(detector.manifest.normal_classes.join(','), 'red');
    const image = detector.normalImage(0);
    assert.ok(image, 'the detector stores its normal images');
    const [score] = detector.scores({ images: image, size: 1, height: 32, width: 32, channels: 3 });
    assert.ok(Number.isFinite(score));
  } finally {
    detector.dispose();
  }
});

test('fit-detector --nproc 2 --method autoencoder writes detector.dmdet and detector.json from rank 0', { skip }, async () => {
  if (!existsSync(data)) await writeColourFolder(data, { train: 24, test: 8 }, FOUR_COLOURS, 3);
  const out = join(root, 'fit');
  const run = await startRank(cli, ['fit-detector', ...common, '--normal', 'red', '--reference', 'green', '--method', 'autoencoder', '--epochs', '2', '--nproc', '2', '--out', out], 0, 1, notDistributed).done;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.match(/^autoencoder epoch 2\/2:/gm)?.length, 1, 'one rank prints the epoch lines');
  const manifest = JSON.parse(readFileSync(join(out, 'detector.json'), 'utf8'));
  const detector = AnomalyDetector.load(join(out, 'detector.dmdet'));
  try {
    assert.equal(detector.manifest.threshold.value, manifest.threshold.value);
    assert.equal(detector.manifest.dataset.n_fit, 24);
  } finally {
    detector.dispose();
  }
});

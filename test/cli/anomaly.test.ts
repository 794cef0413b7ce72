// End to end: `deepmetric anomaly` on a tiny generated dataset of four colour classes (red normal,
// blue the anomaly, green and yellow reference) writes every output, anomaly.json follows its
// schema, the anomaly class never reaches training, and bad class arguments are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Ajv } from 'ajv';
import { anomalyCommand, type AnomalyResults } from '../../src/cli/anomaly.js';
import { UsageError } from '../../src/cli/args.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { liveTensors } from '../../src/index.js';
import { repoRoot, quietly } from '../helpers.js';
import { FOUR_COLOURS, writeColourFolder } from './synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-anomaly-'));
const dataDir = join(root, 'data');
const cacheDir = join(root, 'cache');
const dataReady = writeColourFolder(dataDir, { train: 24, test: 8 }, FOUR_COLOURS, 3);
// One libtorch thread: on a busy 2-core machine, two OpenMP threads spin at barriers and run ~10× slower.
const common = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--backbone', 'convnet', '--epochs', '2', '--batch-size', '12', '--lr', '0.003'];

test('anomaly writes anomaly.json (valid), roc/scores/embedding charts, report.html and checkpoints; never trains on the anomaly class', async () => {
  await dataReady;
  const out = join(root, 'run');
  const base = liveTensors();
  // Class indices work as well as names: 0 is blue (classes are sorted).
  const results = await quietly(() => anomalyCommand([...common, '--normal', 'red', '--anomaly', '0', '--score', 'knn,mahalanobis,msp',
    '--score-options', '{"knn":{"k":3}}', '--baseline', 'autoencoder', '--out', out]));
  assert.equal(liveTensors(), base, 'no tensor leaked');

  for (const f of ['anomaly.json', 'roc.svg', 'roc.png', 'scores.svg', 'scores.png', 'embedding.svg', 'embedding.png', 'report.html',
    'checkpoints/softmax/last.ckpt', 'checkpoints/l2softmax/last.ckpt', 'checkpoints/autoencoder/last.ckpt']) {
    assert.ok(existsSync(join(out, f)), `${f} exists`);
  }
  const json: AnomalyResults = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'anomaly-results.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(json.results.map((r) => r.auroc), results.results.map((r) => r.auroc));

  // Protocol: red normal, blue anomaly, the rest reference; 3 × 24 training images, the 24 red ones fitted on.
  assert.deepEqual(json.protocol.normal, ['red']);
  assert.deepEqual(json.protocol.anomaly, ['blue']);
  assert.deepEqual(json.protocol.reference, ['green', 'yellow']);
  assert.equal(json.protocol.n_train, 72);
  assert.equal(json.protocol.n_fit, 24);
  assert.equal(json.protocol.n_val, 24);
  assert.equal(json.protocol.n_test_normal, 8);
  assert.equal(json.protocol.n_test_anomaly, 8);
  for (const head of ['softmax', 'l2softmax']) {
    const ckpt = loadCheckpoint(join(out, 'checkpoints', head, 'last.ckpt'));
    ckpt.dispose();
    assert.deepEqual(ckpt.extra.classes, ['red', 'green', 'yellow'], `${head} was trained without the anomaly class`);
  }
  const ae = loadCheckpoint(join(out, 'checkpoints', 'autoencoder', 'last.ckpt'));
  ae.dispose();
  assert.deepEqual(ae.extra.classes, ['red', 'green', 'yellow']);
  assert.equal(json.autoencoder?.n_train, 72);
  assert.equal(liveTensors(), base, 'checkpoints read back without a leak');

  // One row per head × score, plus the autoencoder.
  assert.deepEqual(json.results.map((r) => `${r.head}/${r.score}`).sort(), [
    'autoencoder/reconstruction', 'l2softmax/knn', 'l2softmax/mahalanobis', 'l2softmax/msp', 'softmax/knn', 'softmax/mahalanobis', 'softmax/msp',
  ]);
  for (const r of json.results) {
    for (const k of ['auroc', 'aupr', 'fpr_at_95_tpr'] as const) assert.ok(r[k] >= 0 && r[k] <= 1, `${r.head}/${r.score} ${k} = ${r[k]}`);
    assert.equal(r.n_normal, 8);
    assert.equal(r.n_anomaly, 8);
  }
  assert.deepEqual(json.results.find((r) => r.score === 'knn')?.score_options, { k: 3 });
  assert.equal(json.results.find((r) => r.head === 'autoencoder')?.best_val_acc, null);
  // Blue is far from red in colour: the embedding scores separate them clearly even after 2 epochs.
  assert.ok(Math.max(...json.results.filter((r) => r.head !== 'autoencoder').map((r) => r.auroc)) > 0.8, JSON.stringify(json.results.map((r) => r.auroc)));

  for (const name of ['roc', 'scores', 'embedding']) {
    const meta = await sharp(readFileSync(join(out, `${name}.png`))).metadata();
    assert.equal(meta.format, 'png', `${name}.png decodes`);
    assert.ok((meta.width ?? 0) >= 320 && (meta.height ?? 0) >= 240);
  }
  const roc = readFileSync(join(out, 'roc.svg'), 'utf8');
  assert.match(roc, /AUROC = /);
  assert.match(roc, /autoencoder/);
  assert.match(readFileSync(join(out, 'embedding.svg'), 'utf8'), /reference \(green,yellow\)/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.equal((html.match(/<figure>/g) ?? []).length, 4, 'ROC, histogram, scatter and training curve');
  assert.match(html, /sorted by AUROC/);
});

test('bad class arguments are usage errors that say what was expected', async () => {
  await dataReady;
  const run = (args: string[]) => quietly(() => anomalyCommand([...common, '--out', join(root, 'bad'), ...args]));
  await assert.rejects(run(['--normal', 'red', '--anomaly', 'red']), (e: Error) => e instanceof UsageError && /Expected different classes for --normal and --anomaly but received 'red' in both/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', '2']), (e: Error) => e instanceof UsageError && /'red' in both/.test(e.message), 'index 2 is red');
  await assert.rejects(run(['--normal', 'kitten', '--anomaly', 'blue']), (e: Error) => e instanceof UsageError && /Expected --normal to name classes of the dataset \(blue, green, red, yellow\).*but received 'kitten'/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', '7']), (e: Error) => e instanceof UsageError && /--anomaly .*indices 0–3 but received '7'/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', 'blue', '--reference', 'red']), (e: Error) => e instanceof UsageError && /--normal and --reference/.test(e.message));
  await assert.rejects(run(['--anomaly', 'blue']), (e: Error) => e instanceof UsageError && /Expected --normal/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', 'blue', '--score', 'knn', '--score-options', '{"knn":{"kk":3}}']), (e: Error) => e instanceof UsageError && /knn.*"kk"/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', 'blue', '--score', 'distance']), (e: Error) => e instanceof UsageError && /--score items among knn, lof, mahalanobis, center, msp/.test(e.message));
  await assert.rejects(run(['--normal', 'red', '--anomaly', 'blue', '--reference', 'green', '--heads', 'softmax', '--max-train', '10', '--score', 'lof']),
    (e: Error) => e instanceof UsageError && /fitted on the 5 normal training images but 'lof' cannot: .*k of the lof scorer/.test(e.message), 'checked before any training');
});

test('deepmetric anomaly --help lists the flags; a bad class exits with code 2', { timeout: 30_000 }, async () => {
  await dataReady;
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const help = spawnSync(process.execPath, [cli, 'anomaly', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const flag of ['--normal', '--anomaly', '--reference', '--heads', '--score', '--score-options', '--baseline', '--ae-normal-only', '--backbone', '--max-train', '--out']) {
    assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
  }
  const bad = spawnSync(process.execPath, [cli, 'anomaly', '--data', dataDir, '--cache-dir', cacheDir, '--normal', 'red', '--anomaly', 'red', '--out', join(root, 'bad-cli')], { encoding: 'utf8' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /deepmetric anomaly: Expected different classes/);
  assert.match(bad.stderr, /--help/);
});

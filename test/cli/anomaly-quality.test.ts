// End to end: `deepmetric anomaly` with the quality options on a tiny four-colour dataset — the
// auxiliary rotation task, the one-class rotation model, the new scores, fusion on held-out normal
// images, flip TTA and two seeds — writes a schema-valid anomaly.json with per-seed rows and mean ± std.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { anomalyCommand, type AnomalyResults } from '../../src/cli/anomaly.js';
import { UsageError } from '../../src/cli/args.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { liveTensors } from '../../src/index.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { SoftmaxHead } from '../../src/losses/softmax-head.js';
import { RotationHead } from '../../src/losses/rotation-head.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { repoRoot, quietly } from '../helpers.js';
import { FOUR_COLOURS, writeColourFolder } from './synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-anomaly-quality-'));
const dataDir = join(root, 'data');
const cacheDir = join(root, 'cache');
const dataReady = writeColourFolder(dataDir, { train: 24, test: 8 }, FOUR_COLOURS, 5);
const common = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--backbone', 'convnet', '--epochs', '1', '--batch-size', '12', '--lr', '0.003'];

const SCORES = ['knn', 'max-logit', 'normal-logit', 'rotation', 'mahalanobis-depths', 'fusion'];

test('aux rotation + one-class rotation + fusion on held-out normals + flip TTA over 2 seeds: per-seed rows and mean ± std', { timeout: 120_000 }, async () => {
  await dataReady;
  const out = join(root, 'seeds');
  const base = liveTensors();
  const r = await quietly(() => anomalyCommand([...common, '--normal', 'red', '--anomaly', 'blue', '--heads', 'softmax,rotation', '--aux', 'rotation', '--aux-weight', '0.5',
    '--score', SCORES.join(','), '--fuse', 'knn,normal-logit,rotation', '--score-options', '{"knn":{"k":3}}', '--depths=1,-1', '--tta', 'flip',
    '--holdout-normal', '0.25', '--seeds', '0,1', '--out', out]));
  assert.equal(liveTensors(), base, 'no tensor leaked');
  const json: AnomalyResults = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'anomaly-results.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(json.seeds, [0, 1]);
  for (const seed of [0, 1]) {
    for (const f of ['anomaly.json', 'report.html', 'roc.svg', 'checkpoints/softmax/last.ckpt', 'checkpoints/rotation/last.ckpt']) assert.ok(existsSync(join(out, `seed-${seed}`, f)), `seed-${seed}/${f}`);
  }
  assert.ok(existsSync(join(out, 'report.html')));
  // The auxiliary rotation head is trained and checkpointed with the softmax head; the one-class model has only its rotation head.
  const model = createEmbeddingNet({ name: 'convnet' });
  const modules = { model, head: new SoftmaxHead({ embeddingDim: 128, numClasses: 3 }), task: new RotationHead({ embeddingDim: 128 }) };
  loadCheckpoint(join(out, 'seed-0', 'checkpoints', 'softmax', 'last.ckpt')).restore({ modules }); // strict: every tensor present
  const oneClass = { model: createEmbeddingNet({ name: 'convnet' }), head: new RotationHead({ embeddingDim: 128 }) };
  loadCheckpoint(join(out, 'seed-0', 'checkpoints', 'rotation', 'last.ckpt')).restore({ modules: oneClass });
  for (const m of [...Object.values(modules), ...Object.values(oneClass)]) m.dispose();
  assert.equal(liveTensors(), base);

  // Held out: round(0.25 × 24) = 6 red training images, in neither training nor fitting.
  assert.equal(json.protocol.n_train, 72 - 6);
  assert.equal(json.protocol.n_fit, 24 - 6);
  assert.equal((json.protocol as { n_holdout_normal?: number }).n_holdout_normal, 6);
  // softmax (a classifier with an auxiliary rotation head) has every score; the one-class model has no class logits.
  const keys = (seed: number) => json.results.filter((x) => x.seed === seed).map((x) => `${x.head}/${x.score}`).sort();
  const expected = [...SCORES.map((s) => `softmax/${s}`), 'rotation/knn', 'rotation/rotation', 'rotation/mahalanobis-depths', 'rotation/fusion'].sort();
  assert.deepEqual(keys(0), expected);
  assert.deepEqual(keys(1), expected);
  const fusion = json.results.find((x) => x.head === 'softmax' && x.score === 'fusion' && x.seed === 0)!;
  assert.deepEqual(fusion.components, ['knn', 'normal-logit', 'rotation']);
  for (const s of Object.values(fusion.normalization!)) assert.equal(s.n, 6, 'z-normalised on the 6 held-out normal images');
  assert.deepEqual(json.results.find((x) => x.head === 'rotation' && x.score === 'fusion')!.components, ['knn', 'rotation'], 'normal-logit does not apply to the one-class model');
  assert.deepEqual(json.results.find((x) => x.score === 'mahalanobis-depths')!.components, ['features.1', 'features.-1']);
  // The summary: one entry per head × score, both seeds, mean of the two rows.
  assert.equal(json.summary!.length, expected.length);
  for (const s of json.summary!) {
    assert.deepEqual(s.seeds, [0, 1]);
    const two = json.results.filter((x) => x.head === s.head && x.score === s.score).map((x) => x.auroc);
    assert.ok(Math.abs(s.auroc_mean - (two[0] + two[1]) / 2) < 1e-12);
    assert.ok(s.auroc_std !== null && s.auroc_std >= 0);
  }
  assert.equal(r.results.length, json.results.length);
  // Each seed's detector file holds its best row, whatever kind of score it is (fusion, rotation, depths too), with the run's TTA.
  for (const seed of [0, 1]) {
    const one: AnomalyResults = JSON.parse(readFileSync(join(out, `seed-${seed}`, 'anomaly.json'), 'utf8'));
    const best = one.results.reduce((a, x) => (x.auroc > a.auroc ? x : a));
    assert.deepEqual([one.detector!.head, one.detector!.score], [best.head, best.score], `seed ${seed}`);
    assert.ok(Math.abs(one.detector!.validation.auroc! - best.auroc) < 0.02, `seed ${seed}: the detector scores the test images as the row did (${one.detector!.validation.auroc} vs ${best.auroc})`);
    const detector = AnomalyDetector.load(one.detector!.path);
    const method = detector.manifest.method;
    assert.ok(method.kind === 'embedding' && method.scorer.name === best.score && method.scorer.tta === 'flip');
    detector.dispose();
  }
  assert.equal(liveTensors(), base);
  assert.equal(json.config.tta, 'flip');
  assert.deepEqual(json.config.aux, ['rotation']);
  // Blue is far from red: the fused score separates them even after one epoch.
  assert.ok(json.summary!.find((s) => s.head === 'softmax' && s.score === 'fusion')!.auroc_mean > 0.8, JSON.stringify(json.summary));
});

test('quality options: bad values are usage errors', async () => {
  await dataReady;
  const run = (args: string[]) => quietly(() => anomalyCommand([...common, '--normal', 'red', '--anomaly', 'blue', '--out', join(root, 'bad'), ...args]));
  await assert.rejects(run(['--seeds', '0,x']), (e: Error) => e instanceof UsageError && /Expected non-negative integer seeds for --seeds but received 'x'/.test(e.message));
  await assert.rejects(run(['--seeds', '1,1']), (e: Error) => e instanceof UsageError && /Expected different seeds/.test(e.message));
  await assert.rejects(run(['--depths', 'last']), (e: Error) => e instanceof UsageError && /--depths/.test(e.message));
  await assert.rejects(run(['--score', 'fusion', '--fuse', 'odin']), (e: Error) => e instanceof UsageError && /--fuse items among/.test(e.message));
  await assert.rejects(run(['--score', 'fusion', '--holdout-normal', '1.5']), (e: Error) => e instanceof UsageError && /--holdout-normal: Expected a fraction between 0 and 1/.test(e.message));
  await assert.rejects(run(['--score', 'rotation,mahalanobis-depths', '--score-options', '{"mahalanobis-depths":{"perclass":false}}']),
    (e: Error) => e instanceof UsageError && /--score-options for 'mahalanobis-depths': Unknown option "perclass"/.test(e.message), 'checked before any training');
  await assert.rejects(run(['--score', 'rotation', '--score-options', '{"rotation":{"k":1}}']), (e: Error) => e instanceof UsageError && /Unknown option "k" for the rotation score/.test(e.message));
  await assert.rejects(run(['--aux', 'jigsaw']), (e: Error) => e instanceof UsageError && /--aux items among rotation/.test(e.message));
});

test('the one-class rotation model alone needs no reference class: normal vs every other class (the published one-class setting)', { timeout: 60_000 }, async () => {
  await dataReady;
  const out = join(root, 'one-class');
  const base = liveTensors();
  const r = await quietly(() => anomalyCommand([...common, '--normal', 'red', '--anomaly', 'blue,green,yellow', '--heads', 'rotation', '--score', 'rotation,knn,fusion',
    '--fuse', 'rotation,knn', '--score-options', '{"knn":{"k":3}}', '--out', out]));
  assert.equal(liveTensors(), base);
  assert.deepEqual(r.protocol.reference, []);
  assert.equal(r.protocol.n_test_anomaly, 24);
  assert.equal(r.protocol.n_fit, 24 - 2, 'the held-out 10% (2 images) are not fitted on');
  assert.deepEqual(r.results.map((x) => `${x.head}/${x.score}`).sort(), ['rotation/fusion', 'rotation/knn', 'rotation/rotation']);
  assert.deepEqual(r.heads[0].history.map((e) => e.epoch), [1], 'trained (on the red images only) and validated on their rotations');
  // Its detector: the one-class model (a RotationHead) with its best score, loadable for deepmetric score.
  assert.equal(r.detector!.head, 'rotation');
  const detector = AnomalyDetector.load(r.detector!.path);
  assert.ok(detector.manifest.method.kind === 'embedding' && detector.manifest.method.head.name === 'rotation');
  assert.equal(detector.manifest.method.scorer.name, r.detector!.score);
  detector.dispose();
  assert.equal(liveTensors(), base);
});

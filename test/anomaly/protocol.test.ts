// The anomaly protocol as a library call: runAnomaly on a tiny generated folder (red normal, blue
// the anomaly, green and yellow reference) gives one row per head × score, each head's training
// record, the best row's detector and the figures' data — with no file written but checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load-dataset.js';
import { runAnomaly, type AnomalySpec } from '../../src/anomaly/protocol.js';
import { parseScoreOptions } from '../../src/anomaly/score-options.js';
import { thresholdRuleOf } from '../../src/anomaly/threshold-rule.js';
import { UsageError } from '../../src/errors.js';
import { liveTensors } from '../../src/index.js';
import { quietly } from '../helpers.js';
import { FOUR_COLOURS, writeColourFolder } from '../cli/synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-anomaly-protocol-'));
const dataDir = join(root, 'data');
const dataReady = writeColourFolder(dataDir, { train: 16, test: 6 }, FOUR_COLOURS, 5);

async function spec(overrides: Partial<AnomalySpec> = {}): Promise<AnomalySpec> {
  await dataReady;
  const data = await loadDataset({ source: dataDir, cacheDir: join(root, 'cache') });
  return {
    data, normal: ['red'], anomaly: ['blue'], heads: ['softmax'], scores: ['knn', 'msp'], scoreOptions: { knn: { k: 3 } },
    model: { backbone: 'convnet', seed: 0 },
    training: { epochs: 1, batchSize: 12, optimizer: { name: 'adam', lr: 0.003 }, seed: 0, normalization: data.normalization, input: data.input },
    seed: 0, autoencoder: { normalOnly: false, lr: 1e-3 }, checkpoints: join(root, 'checkpoints'), log: () => {},
    ...overrides,
  };
}

test('runAnomaly: rows per head × score and the autoencoder, head records, the best detector, figures', async () => {
  const s = await spec();
  const base = liveTensors();
  const run = await quietly(() => runAnomaly(s));
  try {
    assert.deepEqual(run.rows.map((r) => `${r.head}/${r.score}`), ['softmax/knn', 'softmax/msp', 'autoencoder/reconstruction']);
    for (const r of run.rows) {
      assert.ok(r.auroc >= 0 && r.auroc <= 1, `${r.head}/${r.score} auroc ${r.auroc}`);
      assert.equal(r.n_normal, 6);
      assert.equal(r.n_anomaly, 6);
    }
    assert.deepEqual(run.rows[0].score_options, { k: 3 });
    assert.deepEqual(run.heads.map((h) => h.name), ['softmax']);
    assert.equal(run.heads[0].history.length, 1);
    assert.deepEqual(run.protocol.normal, ['red']);
    assert.deepEqual(run.protocol.anomaly, ['blue']);
    assert.deepEqual(run.protocol.reference, ['green', 'yellow']);
    assert.equal(run.protocol.n_train, 48);
    assert.equal(run.protocol.n_fit, 16);
    assert.equal(run.autoencoder?.n_train, 48);
    assert.equal(run.interrupted, false);
    assert.equal(run.figures.rows.length, 3);
    assert.ok(run.figures.projections.has('softmax'));
    const best = Math.max(...run.rows.map((r) => r.auroc));
    assert.ok(run.detector, 'the best row comes back as a detector');
    assert.equal(run.detector.auroc, best);
    assert.deepEqual(run.detector.detector.manifest.normal_classes, ['red']);
    assert.deepEqual(readdirSync(join(root, 'checkpoints')).sort(), ['autoencoder', 'softmax']);
    assert.ok(!existsSync(join(root, 'anomaly.json')), 'the library writes no results file');
  } finally {
    run.detector?.detector.dispose();
  }
  assert.equal(liveTensors(), base, 'no tensor leaked');
});

test('runAnomaly and its helpers: mistakes in roles, scores and threshold are usage errors', async () => {
  await assert.rejects(async () => runAnomaly(await spec({ normal: ['purple'] })), (e: Error) => e instanceof UsageError && /--normal to name classes/.test(e.message));
  await assert.rejects(async () => runAnomaly(await spec({ anomaly: ['red'] })), (e: Error) => e instanceof UsageError && /different classes for --normal and --anomaly/.test(e.message));
  assert.throws(() => parseScoreOptions('{"lof":{}}', ['knn']), UsageError);
  assert.deepEqual(parseScoreOptions('{"knn":{"k":2}}', ['knn']), { knn: { k: 2 } });
  assert.throws(() => thresholdRuleOf({ fpr: 0.1, tpr: 0.9 }), UsageError);
  assert.deepEqual(thresholdRuleOf({ tpr: 0.9 }), { tpr: 0.9 });
});

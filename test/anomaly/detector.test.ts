// The detector as a library object and a file: fitDetector on a tiny in-memory dataset, the default
// threshold against a plain recomputation of the 95th percentile, save → load → the same scores,
// neighbours that find a training image itself, and damaged / truncated / foreign files refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensors, manualSeed } from '../../src/index.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { createEmbeddingNet, type BackboneSpec } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { fitDetector } from '../../src/anomaly/fit-detector.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { chooseThreshold } from '../../src/anomaly/threshold.js';
import { ImageIndex } from '../../src/search/image-index.js';
import type { UInt8Images } from '../../src/inference/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dm-detector-'));
const SPEC: BackboneSpec = { name: 'convnet' };

/** n noisy 32×32 images around a colour; label 0. */
function colourSet(n: number, rgb: [number, number, number], seed: number, name: string): ImageDataset {
  let s = seed;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const images = new Uint8Array(n * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.max(0, Math.min(255, rgb[i % 3] + (rand() - 0.5) * 100));
  return { images, labels: new Int32Array(n), height: 32, width: 32, channels: 3, classes: ['red', 'green'], files: Array.from({ length: n }, (_, i) => `${name}-${i}.png`) };
}

const asBatch = (d: ImageDataset): UInt8Images => ({ images: d.images, size: d.labels.length, height: 32, width: 32, channels: 3 });

function embeddingDetector(scorer: string, normal: ImageDataset, validation: ImageDataset, anomalies?: ImageDataset, threshold = {}) {
  manualSeed(3);
  const model = createEmbeddingNet(SPEC);
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 2 });
  try {
    return fitDetector({ method: { kind: 'embedding', model, backbone: SPEC, head, scorer, scorerOptions: scorer === 'knn' ? { k: 3 } : {} },
      normal, validation, anomalies, classes: ['red', 'green'], normalization: { kind: 'standard', mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] }, threshold });
  } finally {
    model.dispose();
    head.dispose();
  }
}

const normal = colourSet(30, [200, 40, 40], 1, 'fit');
const validation = colourSet(20, [200, 40, 40], 2, 'val');
const anomalies = colourSet(10, [40, 40, 200], 3, 'anomaly');

test('fitDetector: the default threshold is the 95th percentile of the validation normals; save → load gives the same scores; neighbours find the image itself', async () => {
  const base = liveTensors();
  const detector = embeddingDetector('knn', normal, validation, anomalies);
  const path = join(dir, 'knn.dmdet');
  try {
    const m = detector.manifest;
    const valScores = detector.scores(asBatch(validation));
    const sorted = [...valScores].sort((a, b) => a - b);
    assert.equal(m.threshold.value, sorted[Math.ceil(0.95 * sorted.length) - 1], 'sorted[ceil(0.95 n) − 1]');
    assert.deepEqual([m.threshold.rule, m.threshold.target], ['fpr', 0.05]);
    assert.equal(m.validation.fpr, valScores.filter((v) => v > m.threshold.value).length / 20);
    assert.ok(m.validation.fpr <= 0.05);
    assert.equal(m.validation.n_anomaly, 10);
    assert.ok(m.validation.auroc! >= 0 && m.validation.auroc! <= 1);
    assert.deepEqual(m.preprocessing, { width: 32, height: 32, channels: 3, resize: 'cover', mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] });
    assert.equal(m.dataset.n_fit, 30);
    assert.match(m.versions.libtorch, /\d/);

    // A normal training image finds itself first, at distance ≈ 0, by name.
    const one = { images: normal.images.subarray(5 * 3072, 6 * 3072), size: 1, height: 32, width: 32, channels: 3 };
    const [r] = detector.score(one, { k: 2 });
    assert.equal(r.neighbours[0].index, 5);
    assert.equal(r.neighbours[0].name, 'fit-5.png');
    assert.equal(r.neighbours[0].label, 'red');
    assert.ok(Math.abs(r.neighbours[0].distance) < 1e-5, `distance ${r.neighbours[0].distance}`);
    assert.equal(r.anomalous, r.score > m.threshold.value);

    const all = { images: Buffer.concat([validation.images, anomalies.images]), size: 30, height: 32, width: 32, channels: 3 };
    const before = detector.score(all, { k: 3 });
    // Batches of any size give the same results, up to float rounding.
    detector.score(all, { k: 3, batchSize: 7 }).forEach((r, i) => assert.ok(Math.abs(r.score - before[i].score) < 1e-5 && r.neighbours[0].index === before[i].neighbours[0].index));
    await detector.save(path);
    const exact = AnomalyDetector.load(path, { fuse: false });
    try {
      assert.deepEqual(exact.score(all, { k: 3 }), before, 'identical scores, verdicts and neighbours');
      assert.deepEqual(exact.manifest, JSON.parse(JSON.stringify(m)));
      assert.deepEqual(Array.from(exact.normalImage(5)!), Array.from(normal.images.subarray(5 * 3072, 6 * 3072)));
      await exact.save(join(dir, 'copy.dmdet'));
      assert.ok(readFileSync(join(dir, 'copy.dmdet')).equals(readFileSync(path)), 'a loaded detector saves an identical file');
    } finally {
      exact.dispose();
    }
    const fused = AnomalyDetector.load(path);
    try {
      const after = fused.scores(all);
      after.forEach((v, i) => assert.ok(Math.abs(v - before[i].score) <= 1e-4 * Math.max(1, Math.abs(v)), `fused score ${i}: ${v} vs ${before[i].score}`));
    } finally {
      fused.dispose();
    }
    assert.throws(() => detector.score({ images: new Uint8Array(16 * 16 * 3), size: 1, height: 16, width: 16, channels: 3 }), /Expected 32×32×3 images \(the detector's preprocessing\) but received 16×16×3/);
  } finally {
    detector.dispose();
  }
  assert.equal(liveTensors(), base, 'no tensor leaked');
});

test('threshold rules: --threshold-fpr on normals and --threshold-tpr on anomalies, against plain recomputations', () => {
  const normalScores = Array.from({ length: 40 }, (_, i) => (i * 7919) % 40 / 10);
  const sorted = [...normalScores].sort((a, b) => a - b);
  assert.equal(chooseThreshold(normalScores, undefined).value, sorted[Math.ceil(0.95 * 40) - 1]);
  assert.equal(chooseThreshold(normalScores, undefined, { fpr: 0.1 }).value, sorted[Math.ceil(0.9 * 40) - 1]);
  assert.equal(chooseThreshold(normalScores, undefined, { fpr: 0 }).value, sorted[39]);
  const anomalyScores = [5, 1, 4, 2, 3];
  const t = chooseThreshold(normalScores, anomalyScores, { tpr: 0.6 });
  assert.equal(anomalyScores.filter((v) => v > t.value).length, 3, 'exactly the top 60% of anomalies above');
  assert.ok(t.value < 3 && t.value > 2.999999);
  assert.throws(() => chooseThreshold(normalScores, undefined, { tpr: 0.9 }), /Expected anomaly scores to choose a threshold by true-positive rate/);
  assert.throws(() => chooseThreshold(normalScores, undefined, { fpr: 1 }), /Expected a false-positive rate in \[0, 1\)/);
});

test('damaged (header and data bit flips), truncated and foreign detector files are clear errors', async () => {
  const base = liveTensors();
  const detector = embeddingDetector('mahalanobis', normal, validation);
  const path = join(dir, 'm.dmdet');
  await detector.save(path);
  detector.dispose();
  const good = readFileSync(path);
  const variant = (name: string, bytes: Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const flip = (offset: number): Buffer => {
    const b = Buffer.from(good);
    b[offset] ^= 0x10;
    return b;
  };
  // The safetensors header (with the JSON manifest) starts at byte 56 + 8; the data follows it.
  const headerLength = Number(good.readBigUInt64LE(56));
  assert.throws(() => AnomalyDetector.load(variant('h.dmdet', flip(56 + 8 + 20))), /detector: .*h\.dmdet is damaged: its SHA-256 checksum does not match/);
  assert.throws(() => AnomalyDetector.load(variant('d.dmdet', flip(56 + 8 + headerLength + 100))), /d\.dmdet is damaged: its SHA-256 checksum does not match/);
  assert.throws(() => AnomalyDetector.load(variant('t.dmdet', good.subarray(0, good.length - 1000))), /t\.dmdet is truncated: its header announces \d+ bytes after the header but the file holds \d+/);
  assert.throws(() => AnomalyDetector.load(variant('tiny.dmdet', good.subarray(0, 30))), /tiny\.dmdet is truncated: 30 bytes/);
  assert.throws(() => AnomalyDetector.load(variant('png.dmdet', readFileSync(new URL('../../../test/fixtures/torch-forward.json', import.meta.url)))), /is not a deepmetric detector file: it does not start with 'DMDETEC1'/);
  assert.throws(() => AnomalyDetector.load(variant('magic.dmdet', flip(2))), /is not a deepmetric detector file/);
  assert.throws(() => AnomalyDetector.load(join(dir, 'missing.dmdet')), /detector: cannot read .*missing\.dmdet/);
  // An image index is a different kind of file, and says so.
  manualSeed(1);
  const model = createEmbeddingNet(SPEC);
  const index = ImageIndex.build({ model, backbone: SPEC, data: normal, normalization: { kind: 'unit' } });
  await index.save(join(dir, 'x.dmidx'));
  index.dispose();
  model.dispose();
  assert.throws(() => AnomalyDetector.load(join(dir, 'x.dmidx')), /is a deepmetric image index file, not a detector file \(written by `deepmetric index`\)/);
  assert.throws(() => ImageIndex.load(path), /image index: .* is a deepmetric detector file, not a image index file|is a deepmetric detector file/);
  assert.equal(liveTensors(), base, 'failed loads free what they read');
});

test('the autoencoder and msp detectors save and load with the same scores', async () => {
  const base = liveTensors();
  manualSeed(4);
  const ae = new ConvAutoencoder({ inChannels: 3 });
  const aeDetector = fitDetector({ method: { kind: 'autoencoder', autoencoder: ae }, normal, validation, classes: ['red'], normalization: { kind: 'unit' } });
  ae.dispose();
  const msp = embeddingDetector('msp', normal, validation);
  for (const [name, d] of [['ae', aeDetector], ['msp', msp]] as const) {
    const path = join(dir, `${name}.dmdet`);
    const before = d.score(asBatch(anomalies));
    await d.save(path);
    d.dispose();
    const loaded = AnomalyDetector.load(path, { fuse: false });
    assert.deepEqual(loaded.score(asBatch(anomalies)), before, name);
    assert.equal(loaded.manifest.method.kind, name === 'ae' ? 'autoencoder' : 'embedding');
    loaded.dispose();
  }
  assert.equal(liveTensors(), base);
});

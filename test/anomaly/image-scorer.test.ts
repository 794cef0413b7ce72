// Detectors for every score of the anomaly protocol: ImageScorer (batch by batch, as a saved
// detector scores) gives the values computeScores (whole datasets, as `deepmetric anomaly` scores)
// gives, for fusion, rotation, Mahalanobis at several depths and a registry scorer, with and
// without flip TTA; a detector with such a score (an auxiliary rotation head, or the one-class
// rotation model) survives save → load with the same scores; fusion's statistics come from the
// calibration images only; a file missing them is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, liveTensors, manualSeed, tidy } from '../../src/index.js';
import { EmbeddingNet } from '../../src/models/embedding-net.js';
import { SmallConvNet } from '../../src/models/small-convnet.js';
import { createEmbeddingNet, type BackboneSpec } from '../../src/models/registry.js';
import { SoftmaxHead } from '../../src/losses/softmax-head.js';
import { RotationHead } from '../../src/losses/rotation-head.js';
import { computeScores, concatTest } from '../../src/anomaly/network-scores.js';
import { ImageScorer } from '../../src/anomaly/image-scorer.js';
import { fitDetector } from '../../src/anomaly/fit-detector.js';
import { AnomalyDetector, DETECTOR_BUNDLE, type DetectorManifest } from '../../src/anomaly/anomaly-detector.js';
import { encodeBundle, readBundle } from '../../src/serialize/checked-bundle.js';
import { datasetSlice, type UInt8Images } from '../../src/inference/index.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { assertClose } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dm-image-scorer-'));

function images(n: number, seed: number, size = 8): ImageDataset {
  let state = seed;
  const bytes = Uint8Array.from({ length: n * size * size * 3 }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { images: bytes, labels: new Int32Array(n), height: size, width: size, channels: 3, classes: ['normal', 'reference'] };
}
const asBatch = (d: ImageDataset): UInt8Images => ({ images: d.images, size: d.labels.length, height: d.height, width: d.width, channels: d.channels });
const norm = { kind: 'unit' } as const;

test('ImageScorer scores batches as computeScores scores datasets: fusion, rotation, mahalanobis-depths, knn, normal-logit; with and without flip TTA', () => {
  const base = liveTensors();
  manualSeed(11);
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  const head = new SoftmaxHead({ embeddingDim: model.embeddingDim, numClasses: 2 });
  const rotationHead = new RotationHead({ embeddingDim: model.embeddingDim });
  const fit = images(30, 1);
  const validation = images(12, 2);
  const test = concatTest(images(9, 3), images(9, 4));
  const fuse = ['knn', 'normal-logit', 'rotation', 'mahalanobis-depths'];
  const depths = [0, -1];
  const scoreOptions = { knn: { k: 3 } };
  for (const tta of ['none', 'flip'] as const) {
    const expected = computeScores({ model, head, rotationHead }, { fit, validation, test, normalClassCount: 1 },
      ['fusion', 'rotation', 'mahalanobis-depths', 'knn', 'normal-logit'], { norm, scoreOptions, fuse, depths, tta });
    for (const e of expected) {
      const options = e.score === 'knn' ? scoreOptions.knn : e.score === 'normal-logit' ? { normalClassCount: 1 } : {};
      const components = e.score === 'fusion' ? fuse.map((c) => ({ name: c, options: c === 'knn' ? scoreOptions.knn : c === 'normal-logit' ? { normalClassCount: 1 } : {} })) : undefined;
      const scorer = new ImageScorer({ model, head, rotationHead }, { name: e.score, options, tta, depths, components });
      scorer.fit({ fit, validation, norm, batchSize: 7 });
      // Two batches of different sizes: nothing depends on what else is in the batch.
      const got = [...tidy(() => scorer.score(datasetSlice(test, 0, 5, norm, 'cpu')).toNumbers()), ...tidy(() => scorer.score(datasetSlice(test, 5, 18, norm, 'cpu')).toNumbers())];
      assertClose(got, e.values, { atol: 1e-4, rtol: 1e-4, what: `${e.score}, tta ${tta}` });
      if (e.score === 'fusion') {
        for (const c of fuse) {
          assert.ok(Math.abs(scorer.spec.normalization![c].mean - e.normalization![c].mean) <= 1e-4 * (1 + Math.abs(e.normalization![c].mean)), `${c}: the same validation statistics`);
          assert.equal(scorer.spec.normalization![c].n, 12);
        }
      }
      scorer.dispose();
    }
  }
  model.dispose();
  head.dispose();
  rotationHead.dispose();
  assert.equal(liveTensors(), base);
});

const SPEC: BackboneSpec = { name: 'convnet' };

test('detectors with fusion (aux rotation, flip TTA) and with the one-class rotation model: save → load → the same scores; statistics from the calibration images', async () => {
  const base = liveTensors();
  const normal = images(24, 21, 32);
  const validation = images(10, 22, 32);
  const calibration = images(8, 23, 32);
  const anomalies = images(6, 24, 32);
  manualSeed(5);
  const model = createEmbeddingNet(SPEC);
  const head = new SoftmaxHead({ embeddingDim: model.embeddingDim, numClasses: 2 });
  const rotationHead = new RotationHead({ embeddingDim: model.embeddingDim });
  const cases = [
    { name: 'fusion', method: { head, rotationHead, scorer: 'fusion', tta: 'flip' as const, components: [{ name: 'knn', options: { k: 2 } }, { name: 'normal-logit', options: { normalClassCount: 1 } }, { name: 'rotation', options: {} }] } },
    { name: 'depths', method: { head, scorer: 'mahalanobis-depths', depths: [1, -1] } },
    { name: 'one-class', method: { head: rotationHead, scorer: 'rotation', tta: 'flip' as const } },
  ];
  try {
    for (const c of cases) {
      const detector = fitDetector({ method: { kind: 'embedding', model, backbone: SPEC, ...c.method }, normal, validation, calibration, anomalies, classes: ['normal', 'reference'], normalization: norm });
      const path = join(dir, `${c.name}.dmdet`);
      try {
        const m = detector.manifest;
        assert.equal(m.method.kind, 'embedding');
        if (m.method.kind !== 'embedding') continue;
        assert.equal(m.method.scorer.name, c.method.scorer);
        if (c.name === 'fusion') {
          assert.deepEqual(Object.values(m.method.scorer.normalization!).map((z) => z.n), [8, 8, 8], 'z-statistics from the 8 calibration images, not the 10 threshold ones');
          assert.equal(m.method.rotation_head?.name, 'rotation');
        }
        if (c.name === 'depths') assert.equal(Object.keys(m.method.scorer.depth_normalization!).length, 2);
        if (c.name === 'one-class') assert.equal(m.method.head.name, 'rotation');
        assert.equal(m.validation.n_normal, 10);
        const before = detector.scores(asBatch(anomalies), { batchSize: 4 });
        const neighbours = detector.score(asBatch(anomalies), { k: 2 });
        assert.deepEqual(neighbours.map((r) => r.score), before, 'scores with and without neighbours agree');
        await detector.save(path);
        const exact = AnomalyDetector.load(path, { fuse: false });
        const folded = AnomalyDetector.load(path);
        try {
          assertClose(exact.scores(asBatch(anomalies)), before, { atol: 1e-5, rtol: 1e-5, what: `${c.name}: the loaded detector's score` });
          // Folding BatchNorm changes float rounding, which z-normalisation by a small spread enlarges: compare in z units.
          assertClose(folded.scores(asBatch(anomalies)), before, { atol: 5e-3, rtol: 1e-3, what: `${c.name}: the loaded detector's score (BatchNorm folded)` });
          assert.deepEqual(exact.manifest.method, m.method);
        } finally {
          exact.dispose();
          folded.dispose();
        }
      } finally {
        detector.dispose();
      }
    }
    // A fusion file without its statistics (re-sealed, so the checksum holds) is refused, naming what is missing.
    const { tensors, manifest } = readBundle<DetectorManifest>(join(dir, 'fusion.dmdet'), DETECTOR_BUNDLE);
    if (manifest.method.kind === 'embedding') delete manifest.method.scorer.normalization;
    writeFileSync(join(dir, 'broken.dmdet'), encodeBundle(DETECTOR_BUNDLE, tensors, manifest));
    dispose(Object.values(tensors));
    assert.throws(() => AnomalyDetector.load(join(dir, 'broken.dmdet')), /broken\.dmdet cannot be rebuilt: .*statistics of every fused component but 'knn', 'normal-logit', 'rotation' has none/);
  } finally {
    model.dispose();
    head.dispose();
    rotationHead.dispose();
  }
  assert.equal(liveTensors(), base);
});

// computeScores: every score of one network, and the protocol's guarantee that anomaly images never
// enter fitting or normalisation — replacing the anomaly test images changes nothing but their own
// scores: not the fitted state, not the z-normalisation statistics, not a normal image's score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed } from '../../src/index.js';
import { EmbeddingNet } from '../../src/models/embedding-net.js';
import { SmallConvNet } from '../../src/models/small-convnet.js';
import { SoftmaxHead } from '../../src/losses/softmax-head.js';
import { RotationHead } from '../../src/losses/rotation-head.js';
import { L2SoftmaxHead } from '../../src/losses/l2-softmax-head.js';
import { TripletMarginLoss } from '../../src/losses/triplet-margin-loss.js';
import { computeScores, concatTest, defaultDepths } from '../../src/anomaly/network-scores.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { assertClose } from '../helpers.js';

function images(n: number, seed: number, label = 0): ImageDataset {
  let state = seed;
  const bytes = Uint8Array.from({ length: n * 8 * 8 * 3 }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { images: bytes, labels: new Int32Array(n).fill(label), height: 8, width: 8, channels: 3, classes: ['normal', 'reference'] };
}

const ALL = ['knn', 'lof', 'mahalanobis', 'center', 'msp', 'normal-prob', 'max-logit', 'normal-logit', 'rotation', 'mahalanobis-depths', 'fusion'];

test('anomaly images never enter fitting or normalisation: swapping them leaves every statistic and every normal score unchanged', () => {
  const base = liveTensors();
  manualSeed(7);
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  const head = new SoftmaxHead({ embeddingDim: model.embeddingDim, numClasses: 2 });
  const rotationHead = new RotationHead({ embeddingDim: model.embeddingDim });
  const fit = images(30, 1);
  const validation = images(12, 2);
  const normal = images(10, 3);
  const opts = { norm: { kind: 'unit' } as const, scoreOptions: { knn: { k: 3 }, lof: { k: 5 } }, fuse: ['knn', 'normal-logit', 'rotation', 'mahalanobis-depths'], depths: [0, -1] };
  for (const tta of ['none', 'flip'] as const) {
    const run = (anomalySeed: number) => computeScores({ model, head, rotationHead },
      { fit, validation, test: concatTest(normal, images(10, anomalySeed)), normalClassCount: 1 }, ALL, { ...opts, tta });
    const a = run(100);
    const b = run(200);
    assert.deepEqual(a.map((r) => r.score), ALL, `${tta}: every score applies to a classifier with a rotation head`);
    for (let i = 0; i < a.length; i++) {
      assert.equal(a[i].values.length, 20);
      assert.deepEqual(a[i].values.slice(0, 10), b[i].values.slice(0, 10), `${a[i].score}: the normal test images' scores do not depend on the anomaly images`);
      assert.deepEqual(a[i].normalization, b[i].normalization, `${a[i].score}: normalisation statistics from validation normals only`);
      assert.notDeepEqual(a[i].values.slice(10), b[i].values.slice(10), `${a[i].score}: the anomaly images are scored (the test can fail)`);
    }
    const fusion = a.find((r) => r.score === 'fusion')!;
    assert.deepEqual(fusion.components, ['knn', 'normal-logit', 'rotation', 'mahalanobis-depths']);
    for (const stats of Object.values(fusion.normalization!)) assert.equal(stats.n, 12, 'statistics from the 12 validation images');
    // Fusion = Σ (component − validation mean) / validation std, from the same run's components.
    const expected = a[0].values.map((_, i) => fusion.components!.reduce((s, c) => {
      const { mean, std } = fusion.normalization![c];
      return s + (a.find((r) => r.score === c)!.values[i] - mean) / std;
    }, 0));
    assertClose(fusion.values, expected, { atol: 1e-9, rtol: 1e-9 });
  }
  model.dispose();
  head.dispose();
  rotationHead.dispose();
  assert.equal(liveTensors(), base);
});

test('scores that do not apply are skipped with the reason; missing validation images are a clear error', () => {
  const base = liveTensors();
  manualSeed(8);
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  const triplet = new TripletMarginLoss({ embeddingDim: model.embeddingDim, numClasses: 2 });
  const skipped: string[] = [];
  const data = { fit: images(12, 1), validation: images(6, 2), test: concatTest(images(4, 3), images(4, 4)), normalClassCount: 1 };
  const r = computeScores({ model, head: triplet, rotationHead: null }, data, ['knn', 'max-logit', 'rotation', 'fusion'],
    { norm: { kind: 'unit' }, scoreOptions: { knn: { k: 2 } }, onSkip: (s, why) => skipped.push(`${s}: ${why}`) });
  assert.deepEqual(r.map((x) => x.score), ['knn', 'fusion']);
  assert.deepEqual(r[1].components, ['knn'], 'fusion keeps the components that apply');
  assert.match(skipped.join('\n'), /max-logit: the network has no class logits/);
  assert.match(skipped.join('\n'), /rotation: the network has no rotation head/);
  assert.match(skipped.join('\n'), /fusion component normal-logit/);
  const l2 = new L2SoftmaxHead({ embeddingDim: model.embeddingDim, numClasses: 2 });
  assert.throws(() => computeScores({ model, head: l2, rotationHead: null }, { ...data, validation: null }, ['fusion'], { norm: { kind: 'unit' } }),
    /Expected at least 2 held-out normal validation images for fusion but received 0/);
  assert.throws(() => computeScores({ model, head: l2, rotationHead: null }, data, ['knn', 'odin'], { norm: { kind: 'unit' } }), /Expected scores among .* but received 'odin'/);
  assert.throws(() => computeScores({ model, head: l2, rotationHead: null }, data, ['fusion'], { norm: { kind: 'unit' }, fuse: ['fusion'] }), /Expected fusion components among/);
  assert.deepEqual(defaultDepths(5), [1, 2, 4]);
  assert.deepEqual(defaultDepths(19), [5, 12, 18]);
  model.dispose();
  triplet.dispose();
  l2.dispose();
  assert.equal(liveTensors(), base);
});

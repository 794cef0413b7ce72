// Per-seed aggregation: mean and sample standard deviation per head × score, against hand values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateSeeds, formatMeanStd } from '../../src/anomaly/seeds.js';
import { assertClose } from '../helpers.js';

const row = (seed: number, head: string, score: string, auroc: number, aupr = 0.5, fpr = 0.9) => ({ seed, head, score, auroc, aupr, fpr_at_95_tpr: fpr });

test('mean and sample std per head × score, in first-appearance order', () => {
  const s = aggregateSeeds([
    row(0, 'softmax', 'knn', 0.6, 0.55, 0.9), row(0, 'softmax', 'fusion', 0.7),
    row(1, 'softmax', 'knn', 0.7, 0.65, 0.8), row(1, 'softmax', 'fusion', 0.72),
    row(2, 'softmax', 'knn', 0.8, 0.75, 0.7), row(0, 'autoencoder', 'reconstruction', 0.5),
  ]);
  assert.deepEqual(s.map((x) => `${x.head}/${x.score}`), ['softmax/knn', 'softmax/fusion', 'autoencoder/reconstruction']);
  // knn: AUROCs 0.6, 0.7, 0.8 → mean 0.7, deviations ±0.1 → sample variance (0.01 + 0 + 0.01) / 2 = 0.01, std 0.1.
  assertClose(s[0].auroc_mean, 0.7, { atol: 1e-12 });
  assertClose(s[0].auroc_std!, 0.1, { atol: 1e-12 });
  assertClose(s[0].aupr_mean, 0.65, { atol: 1e-12 });
  assertClose(s[0].fpr_at_95_tpr_std!, 0.1, { atol: 1e-12 });
  assert.deepEqual(s[0].seeds, [0, 1, 2]);
  // fusion: 0.70, 0.72 → mean 0.71, std √((0.0001 + 0.0001) / 1) = 0.01414…
  assertClose(s[1].auroc_std!, Math.SQRT2 * 0.01, { atol: 1e-12 });
  assert.equal(s[2].auroc_std, null, 'one seed has no spread');
  assert.equal(formatMeanStd(0.71234, 0.01414), '0.712 ± 0.014');
  assert.equal(formatMeanStd(0.5, null), '0.500');
  assert.throws(() => aggregateSeeds([row(1, 'a', 'b', 0.5), row(1, 'a', 'b', 0.6)]), /seed 1 appears twice/);
  assert.deepEqual(aggregateSeeds([]), []);
});

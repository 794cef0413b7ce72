// KnnScorer.scoreAndSearch (the detector's one-search path for score + nearest normal images) and
// knnSearch's unitReferences, against a plain recomputation of cosine distances in JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, randn, tidy, F } from '../../src/index.js';
import { KnnScorer } from '../../src/eval/scorers/knn-scorer.js';
import { knnSearch } from '../../src/eval/knn.js';

function plainCosine(q: number[][], r: number[][]): number[][] {
  const norm = (v: number[]) => Math.hypot(...v);
  return q.map((a) => r.map((b) => 1 - a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b))));
}

test('KnnScorer.scoreAndSearch: the scores of score() and the nearest training rows, as a plain recomputation ranks them', () => {
  const base = liveTensors();
  manualSeed(4);
  tidy(() => {
    const train = randn([40, 6]);
    const x = randn([5, 6]);
    for (const reduce of ['mean', 'max'] as const) {
      const scorer = new KnnScorer({ k: 4, reduce });
      scorer.fit(train);
      try {
        const both = scorer.scoreAndSearch(x, 2);
        const alone = scorer.score(x).toNumbers();
        both.scores.toNumbers().forEach((s, i) => assert.ok(Math.abs(s - alone[i]) <= 1e-6, `score ${i}`));
        const plain = plainCosine(x.toArray() as number[][], train.toArray() as number[][]);
        const d = both.distances.toNumbers();
        const idx = both.indices.toNumbers();
        assert.deepEqual(both.distances.shape, [5, 2]);
        plain.forEach((row, i) => {
          const order = row.map((v, j) => [v, j]).sort((a, b) => a[0] - b[0]);
          assert.deepEqual([idx[2 * i], idx[2 * i + 1]], [order[0][1], order[1][1]], `neighbours of ${i}`);
          assert.ok(Math.abs(d[2 * i] - order[0][0]) <= 1e-5);
          const top = order.slice(0, 4).map((o) => o[0]);
          const expected = reduce === 'mean' ? top.reduce((a, b) => a + b, 0) / 4 : top[3];
          assert.ok(Math.abs(alone[i] - expected) <= 1e-5, `${reduce} score ${i}: ${alone[i]} vs ${expected}`);
        });
        // More neighbours than the scorer's k come from the same search.
        assert.deepEqual(scorer.scoreAndSearch(x, 7).indices.shape, [5, 7]);
      } finally {
        scorer.dispose();
      }
    }
    // unitReferences: the same result when the references are already normalised.
    const unit = F.normalize(train);
    const a = knnSearch(x, unit, { k: 3, unitReferences: true });
    const b = knnSearch(x, train, { k: 3 });
    assert.deepEqual(a.indices.toNumbers(), b.indices.toNumbers());
    a.distances.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - b.distances.toNumbers()[i]) <= 1e-6));
  });
  assert.equal(liveTensors(), base);
});

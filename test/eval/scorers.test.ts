// Anomaly scorers against step-by-step reference computations in plain JS, and on obvious outliers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, liveTensors, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import {
  auroc, CenterScorer, createScorer, scorerNeedsHead, KnnScorer, ledoitWolf, LofScorer, MahalanobisScorer, SCORER_NAMES,
} from '../../src/eval/index.js';
import { assertClose } from '../helpers.js';

const rows = (t: Tensor): number[][] => t.toArray() as number[][];
const euclid = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
const cosineDistance = (a: number[], b: number[]): number => {
  const dot = a.reduce((s, v, i) => s + v * b[i], 0);
  const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return 1 - dot / (norm(a) * norm(b));
};
/** Indices of the k nearest rows of data to p, skipping index `skip`. */
const nearest = (p: number[], data: number[][], k: number, skip = -1): number[] =>
  data.map((d, i) => ({ i, d: euclid(p, d) })).filter(({ i }) => i !== skip).sort((a, b) => a.d - b.d).slice(0, k).map(({ i }) => i);

test('LOF on a 1-d case worked by hand (k = 1)', () => {
  // Training points 0, 1, 3. Nearest neighbour (k = 1): 0→1 (d 1), 1→0 (d 1), 3→1 (d 2),
  // so the k-distances are 1, 1, 2.
  // lrd(0) = 1 / reach(0←1) = 1 / max(d(0,1), kdist(1)) = 1 / max(1, 1) = 1
  // lrd(1) = 1 / max(d(1,0), kdist(0)) = 1 / max(1, 1) = 1
  // lrd(3) = 1 / max(d(3,1), kdist(1)) = 1 / max(2, 1) = ½
  // Query 6: neighbour 3 at d 3; lrd(6) = 1 / max(3, kdist(3) = 2) = ⅓; LOF = lrd(3) / lrd(6) = 1.5.
  // Query 0.4: neighbour 0 at d 0.4; lrd = 1 / max(0.4, kdist(0) = 1) = 1; LOF = lrd(0) / 1 = 1.
  const base = liveTensors();
  const lof = new LofScorer({ k: 1 });
  tidy(() => {
    lof.fit(tensor([[0], [1], [3]]));
    assertClose(lof.score(tensor([[6], [0.4]])), [1.5, 1], { atol: 1e-8, rtol: 0 });
  });
  lof.dispose();
  assert.equal(liveTensors(), base);
});

test('LOF matches a step-by-step JS computation of Breunig et al.\'s definition (sklearn novelty mode)', () => {
  manualSeed(6);
  const base = liveTensors();
  tidy(() => {
    const train = randn([40, 3], { dtype: 'float64' });
    const queries = cat([randn([10, 3], { dtype: 'float64' }), randn([5, 3], { dtype: 'float64' }).mul(3)], 0);
    const t = rows(train);
    const q = rows(queries);
    for (const k of [3, 7]) {
      // 1. k nearest training neighbours of each training point (itself excluded).
      const nn = t.map((p, i) => nearest(p, t, k, i));
      // 2. k-distance: the distance to the k-th of them.
      const kDist = t.map((p, i) => euclid(p, t[nn[i][k - 1]]));
      // 3. Local reachability density: 1 / mean reach-dist, reach-dist(p, o) = max(d(p, o), kDist(o)).
      const lrd = (p: number[], neighbours: number[]): number =>
        1 / (neighbours.reduce((s, o) => s + Math.max(euclid(p, t[o]), kDist[o]), 0) / k + 1e-10);
      const trainLrd = t.map((p, i) => lrd(p, nn[i]));
      // 4. LOF of a query: mean over its k training neighbours of lrd(o) / lrd(query).
      const expected = q.map((p) => {
        const neighbours = nearest(p, t, k);
        return neighbours.reduce((s, o) => s + trainLrd[o], 0) / k / lrd(p, neighbours);
      });
      const lof = new LofScorer({ k });
      lof.fit(train);
      const scores = lof.score(queries);
      assert.deepEqual(scores.shape, [15]);
      assertClose(scores, expected, { atol: 1e-9, rtol: 1e-9, what: `LOF k=${k}` });
      lof.dispose();
    }
  });
  assert.equal(liveTensors(), base);
});

/** Gauss–Jordan inverse of a small symmetric positive-definite matrix. */
function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const pivot = a[c][c];
    for (let j = 0; j < 2 * n; j++) a[c][j] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row) => row.slice(n));
}

/** sklearn's ledoit_wolf on already-centred rows, written out with loops. */
function ledoitWolfReference(x: number[][]): { cov: number[][]; shrinkage: number } {
  const n = x.length;
  const p = x[0].length;
  const s = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => x.reduce((acc, r) => acc + r[i] * r[j], 0) / n));
  const mu = s.reduce((acc, row, i) => acc + row[i], 0) / p;
  // δ = ‖S − μI‖²_F / p: distance of S from the scaled identity.
  let delta = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) delta += (s[i][j] - (i === j ? mu : 0)) ** 2;
  delta /= p;
  // β = (1/n²) Σₖ ‖xₖxₖᵀ − S‖²_F / p: how noisy S is as an estimate.
  let beta = 0;
  for (const r of x) for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) beta += (r[i] * r[j] - s[i][j]) ** 2;
  beta /= n * n * p;
  const shrinkage = Math.min(beta, delta) / delta;
  return { cov: s.map((row, i) => row.map((v, j) => (1 - shrinkage) * v + (i === j ? shrinkage * mu : 0))), shrinkage };
}

test('Ledoit–Wolf shrinkage matches the textbook formula (β and δ written out)', () => {
  manualSeed(7);
  const base = liveTensors();
  tidy(() => {
    // Few samples in many dimensions: strong shrinkage expected.
    const x = randn([12, 6], { dtype: 'float64' }).mul(tensor([1, 2, 0.5, 1, 3, 1], { dtype: 'float64' }));
    const centred = x.sub(x.mean(0, true));
    const ref = ledoitWolfReference(rows(centred));
    const lw = ledoitWolf(x);
    assertClose(lw.shrinkage, ref.shrinkage, { atol: 1e-12, rtol: 1e-9 });
    assertClose(lw.covariance, ref.cov.flat(), { atol: 1e-12, rtol: 1e-9 });
    assert.ok(lw.shrinkage > 0 && lw.shrinkage < 1);
    const assumed = ledoitWolf(centred, { assumeCentered: true });
    assertClose(assumed.shrinkage, ref.shrinkage, { atol: 1e-12, rtol: 1e-9 });
  });
  assert.equal(liveTensors(), base);
});

test('Mahalanobis scores equal (x − μ)ᵀ Σ⁻¹ (x − μ) computed directly, globally and per class', () => {
  manualSeed(8);
  const base = liveTensors();
  tidy(() => {
    const train = randn([30, 4], { dtype: 'float64' }).mul(tensor([1, 3, 0.5, 2], { dtype: 'float64' }));
    const labels = Array.from({ length: 30 }, (_, i) => (i < 12 ? 0 : i < 21 ? 4 : 9));
    const shifted = train.add(tensor(labels.map((l) => [l, -l, 0, l / 2]), { dtype: 'float64' }));
    const queries = randn([7, 4], { dtype: 'float64' }).mul(4);
    const t = rows(shifted);
    const q = rows(queries);
    const quadratic = (v: number[], m: number[], precision: number[][]): number => {
      const d = v.map((x, i) => x - m[i]);
      return d.reduce((s, di, i) => s + di * d.reduce((acc, dj, j) => acc + precision[i][j] * dj, 0), 0);
    };
    const meanOf = (subset: number[][]): number[] => subset[0].map((_, j) => subset.reduce((s, r) => s + r[j], 0) / subset.length);

    // One mean, covariance of the centred data.
    const mu = meanOf(t);
    const global = invert(ledoitWolfReference(t.map((r) => r.map((v, j) => v - mu[j]))).cov);
    const scorer = new MahalanobisScorer();
    scorer.fit(shifted);
    assertClose(scorer.score(queries), q.map((v) => quadratic(v, mu, global)), { atol: 1e-9, rtol: 1e-9, what: 'global' });

    // Per class: class means, shared covariance of the within-class residuals, nearest class.
    const classes = [0, 4, 9];
    const means = classes.map((c) => meanOf(t.filter((_, i) => labels[i] === c)));
    const residuals = t.map((r, i) => r.map((v, j) => v - means[classes.indexOf(labels[i])][j]));
    const shared = invert(ledoitWolfReference(residuals).cov);
    scorer.fit(shifted, labels);
    assertClose(scorer.score(queries), q.map((v) => Math.min(...means.map((m) => quadratic(v, m, shared)))), { atol: 1e-9, rtol: 1e-9, what: 'per class' });
    // perClass: false ignores the labels.
    const ignoring = new MahalanobisScorer({ perClass: false });
    ignoring.fit(shifted, labels);
    assertClose(ignoring.score(queries), q.map((v) => quadratic(v, mu, global)), { atol: 1e-9, rtol: 1e-9 });
    scorer.dispose();
    ignoring.dispose();
  });
  assert.equal(liveTensors(), base);
});

test('k-NN and centre scorers equal their definitions', () => {
  manualSeed(9);
  const base = liveTensors();
  tidy(() => {
    const train = randn([25, 5]);
    const queries = randn([6, 5]);
    const t = rows(train);
    const q = rows(queries);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const dist = metric === 'cosine' ? cosineDistance : euclid;
      const sorted = q.map((v) => t.map((r) => dist(v, r)).sort((a, b) => a - b));
      const mean = new KnnScorer({ k: 4, metric });
      mean.fit(train);
      assertClose(mean.score(queries), sorted.map((d) => d.slice(0, 4).reduce((a, b) => a + b, 0) / 4), { atol: 1e-5, rtol: 1e-4 });
      const max = new KnnScorer({ k: 4, metric, reduce: 'max' });
      max.fit(train);
      assertClose(max.score(queries), sorted.map((d) => d[3]), { atol: 1e-5, rtol: 1e-4 });
      mean.dispose();
      max.dispose();
    }
    // Centre, cosine: 1 − cos to the mean of unit-normalised embeddings, nearest class.
    const labels = t.map((_, i) => i % 3);
    const unit = t.map((r) => { const n = Math.hypot(...r); return r.map((v) => v / n); });
    const centres = [0, 1, 2].map((c) => { const m = unit.filter((_, i) => labels[i] === c); return m[0].map((_, j) => m.reduce((s, r) => s + r[j], 0) / m.length); });
    const centre = new CenterScorer();
    centre.fit(train, labels);
    assertClose(centre.score(queries), q.map((v) => Math.min(...centres.map((c) => cosineDistance(v, c)))), { atol: 1e-5, rtol: 1e-4 });
    // Euclidean, no labels: distance to the mean.
    const mean = t[0].map((_, j) => t.reduce((s, r) => s + r[j], 0) / t.length);
    const plain = new CenterScorer({ metric: 'euclidean' });
    plain.fit(train);
    assertClose(plain.score(queries), q.map((v) => euclid(v, mean)), { atol: 1e-5, rtol: 1e-4 });
    centre.dispose();
    plain.dispose();
  });
  assert.equal(liveTensors(), base);
});

test('every scorer ranks obvious outliers above normal embeddings', () => {
  manualSeed(10);
  const base = liveTensors();
  tidy(() => {
    // Normals around direction e₀, outliers around e₁: different in direction and in position.
    const normal = (n: number): Tensor => randn([n, 8]).mul(0.5).add(tensor([4, 0, 0, 0, 0, 0, 0, 0]));
    const train = normal(200);
    const test = cat([normal(50), randn([20, 8]).mul(0.5).add(tensor([0, 4, 0, 0, 0, 0, 0, 0]))], 0);
    const labels = [...new Array<number>(50).fill(0), ...new Array<number>(20).fill(1)];
    for (const name of SCORER_NAMES.filter((n) => !scorerNeedsHead(n))) {
      const scorer = createScorer(name);
      scorer.fit(train);
      const scores = scorer.score(test);
      assert.equal(scorer.name, name);
      assert.deepEqual(scores.shape, [70]);
      assert.equal(auroc(scores, labels), 1, `${name} AUROC`);
      scorer.dispose();
    }
  });
  assert.equal(liveTensors(), base);
});

test('createScorer and the scorers check their arguments and free their state', () => {
  assert.deepEqual(SCORER_NAMES, ['knn', 'lof', 'mahalanobis', 'center', 'msp', 'normal-prob', 'max-logit', 'normal-logit']);
  assert.throws(() => createScorer('isolation-forest'), /Unknown anomaly scorer "isolation-forest": expected one of 'knn', 'lof', 'mahalanobis', 'center', 'msp', 'normal-prob'/);
  assert.throws(() => createScorer('msp', { k: 1 } as never), /Unknown option "k" for the msp scorer/);
  assert.throws(() => createScorer('normal-prob', { normalClassCount: 0 }), /Expected an integer ≥ 1 for normalClassCount of the normal-prob scorer but received 0/);
  assert.throws(() => createScorer('knn', { neighbours: 5 } as never), /Unknown option "neighbours" for the knn scorer/);
  assert.throws(() => createScorer('knn', { reduce: 'median' } as never), /Expected 'mean' or 'max' for reduce of the knn scorer but received "median"/);
  assert.throws(() => createScorer('lof', { k: 0 }), /Expected an integer ≥ 1 for k of the lof scorer but received 0/);
  assert.throws(() => createScorer('center', { metric: 'l1' } as never), /Expected 'cosine' or 'euclidean' for metric of the center scorer/);
  const base = liveTensors();
  const lof = createScorer('lof', { k: 5 });
  tidy(() => {
    assert.throws(() => lof.score(randn([2, 3])), /lof scorer: call fit\(train\) before score\(x\)/);
    assert.throws(() => lof.fit(randn([5, 3])), /Expected an integer between 1 and 4 for k of the lof scorer \(at most 4: the training rows besides the point itself\) but received 5/);
    const train = randn([20, 3]);
    lof.fit(train);
    train.dispose(); // scorers keep their own copy
    assert.throws(() => lof.score(randn([2, 4])), /lof scorer: Expected embeddings with 3 features \(as in fit\) but received shape \[2,4\]/);
    assert.equal(lof.score(randn([2, 3])).shape[0], 2);
    // Refitting replaces the state instead of leaking it.
    lof.fit(randn([30, 3]));
  });
  assert.ok(liveTensors() > base);
  lof.dispose();
  lof.dispose();
  assert.equal(liveTensors(), base);
  const m = createScorer('mahalanobis');
  assert.throws(() => tidy(() => m.fit(randn([1, 3]))), /Expected at least 2 training rows for a covariance but received 1/);
  assert.throws(() => tidy(() => m.fit(randn([4, 3]), [0, 1])), /Expected labels of length 4 \(one per training embedding\) but received 2/);
  assert.equal(liveTensors(), base);
});

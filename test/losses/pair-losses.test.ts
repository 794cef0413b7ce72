// Pair-based losses against plain-JS loops over pairs and triplets (float32; tolerance 1e-5
// absolute + 1e-4 relative), and triplet mining on a hand-made example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import { ContrastiveLoss, MultiSimilarityLoss, TripletMarginLoss, createHead } from '../../src/losses/index.js';
import { assertClose } from '../helpers.js';
import { type Matrix, dot, euclidean, mean, rows, unit } from './reference.js';

manualSeed(9);
const labels = [0, 0, 1, 1, 1, 2, 2, 0];
const y = (): Tensor => tensor(labels, { dtype: 'int64' });
const N = labels.length;
const tol = { atol: 1e-5, rtol: 1e-4 };

function distances(x: Matrix): Matrix {
  const u = x.map(unit);
  return u.map((a) => u.map((b) => euclidean(a, b)));
}
function similarities(x: Matrix): Matrix {
  const u = x.map(unit);
  return u.map((a) => u.map((b) => dot(a, b)));
}
const isPos = (i: number, j: number): boolean => i !== j && labels[i] === labels[j];
const isNeg = (i: number, j: number): boolean => labels[i] !== labels[j];
const meanNonZero = (v: number[]): number => {
  const nz = v.filter((t) => t > 0);
  return nz.length === 0 ? 0 : nz.reduce((s, t) => s + t, 0) / nz.length;
};

test('ContrastiveLoss (euclidean on normalised embeddings): mean non-zero [d − 0]₊ + mean non-zero [1 − d]₊', () => tidy(() => {
  const e = randn([N, 5]);
  const d = distances(rows(e));
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (isPos(i, j)) pos.push(Math.max(0, d[i][j]));
      if (isNeg(i, j)) neg.push(Math.max(0, 1 - d[i][j]));
    }
  }
  const head = new ContrastiveLoss({ embeddingDim: 5, numClasses: 3 });
  assertClose(head.loss(e, y()), meanNonZero(pos) + meanNonZero(neg), { ...tol, what: 'euclidean' });
  assert.deepEqual([head.posMargin, head.negMargin], [0, 1]);
}));

test('ContrastiveLoss (cosine): [1 − s]₊ for positives, [s − m]₊ for negatives', () => tidy(() => {
  const e = randn([N, 5]);
  const s = similarities(rows(e));
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (isPos(i, j)) pos.push(Math.max(0, 1 - s[i][j]));
      if (isNeg(i, j)) neg.push(Math.max(0, s[i][j] - 0.2));
    }
  }
  const head = new ContrastiveLoss({ embeddingDim: 5, numClasses: 3, distance: 'cosine', negMargin: 0.2 });
  assertClose(head.loss(e, y()), meanNonZero(pos) + meanNonZero(neg), { ...tol, what: 'cosine' });
}));

test('triplet mining picks the expected pairs on a hand-made example', () => tidy(() => {
  // Points on the unit circle (normalisation leaves them in place), at these angles in degrees;
  // chord length grows with the angle between points, so the expectations follow from the angles.
  const angles = [0, 20, 70, 90, 130, 250, 300];
  const ids = [0, 0, 0, 1, 1, 2, 1];
  const e = tensor(angles.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]));
  const lab = tensor(ids, { dtype: 'int64' });
  const triplets = (mining: 'all' | 'hard' | 'semihard'): number[][] => {
    const t = new TripletMarginLoss({ embeddingDim: 2, numClasses: 3, mining }).mine(e, lab);
    const [a, p, n] = [t.anchors.toNumbers(), t.positives.toNumbers(), t.negatives.toNumbers()];
    return a.map((ai, i) => [ai, p[i], n[i]]);
  };
  // Batch-hard: per anchor with a positive and a negative, the farthest positive and the nearest negative.
  assert.deepEqual(triplets('hard'), [
    [0, 2, 6], // positives 20°, 70° away; negatives 90°, 130°, 110°, 60° away
    [1, 2, 3], // positives 20°, 50°; negatives 70°, 110°, 130°, 80°
    [2, 0, 3], // positives 70°, 50°; negatives 20°, 60°, 180°, 130°
    [3, 6, 2], // positives 40°, 150°; negatives 90°, 70°, 20°, 160°
    [4, 6, 2], // positives 40°, 170°; negatives 130°, 110°, 60°, 120°
    [6, 4, 5], // positives 150°, 170°; negatives 60°, 80°, 130°, 50° (anchor 5 has no positive)
  ]);
  // Semi-hard: per (anchor, positive), the nearest negative farther than the positive, else the farthest negative.
  assert.deepEqual(triplets('semihard'), [
    [0, 1, 6], [0, 2, 3], [1, 0, 3], [1, 2, 3], [2, 0, 6], [2, 1, 4], [3, 4, 1], [3, 6, 5], [4, 3, 2],
    [4, 6, 0], // d = 170°: no negative is farther, so the farthest, 0 at 130°
    [6, 3, 2], [6, 4, 2], // d = 150° and 170°: none farther; farthest negative 2 at 130°
  ]);
  // Batch-all: every (anchor, positive, negative).
  const all = triplets('all');
  const expected: number[][] = [];
  for (let a = 0; a < 7; a++) for (let p = 0; p < 7; p++) for (let n = 0; n < 7; n++) {
    if (a !== p && ids[a] === ids[p] && ids[n] !== ids[a]) expected.push([a, p, n]);
  }
  assert.deepEqual(all, expected);
  assert.equal(all.length, 48);
}));

/** The triplet loss recomputed with loops: mining rules re-implemented on the JS distance matrix. */
function tripletReference(d: Matrix, mining: 'all' | 'hard' | 'semihard', margin: number): number {
  const term = (a: number, p: number, n: number): number => Math.max(0, d[a][p] - d[a][n] + margin);
  const idx = [...Array(N).keys()];
  const terms: number[] = [];
  for (const a of idx) {
    const pos = idx.filter((j) => isPos(a, j));
    const neg = idx.filter((j) => isNeg(a, j));
    if (pos.length === 0 || neg.length === 0) continue;
    if (mining === 'hard') {
      const p = pos.reduce((b, j) => (d[a][j] > d[a][b] ? j : b));
      const n = neg.reduce((b, j) => (d[a][j] < d[a][b] ? j : b));
      terms.push(term(a, p, n));
      continue;
    }
    for (const p of pos) {
      if (mining === 'all') {
        for (const n of neg) terms.push(term(a, p, n));
      } else {
        const farther = neg.filter((j) => d[a][j] > d[a][p]);
        const n = farther.length > 0 ? farther.reduce((b, j) => (d[a][j] < d[a][b] ? j : b)) : neg.reduce((b, j) => (d[a][j] > d[a][b] ? j : b));
        terms.push(term(a, p, n));
      }
    }
  }
  return mining === 'all' ? meanNonZero(terms) : mean(terms);
}

for (const mining of ['all', 'hard', 'semihard'] as const) {
  test(`TripletMarginLoss (${mining}) matches a loop over its triplets`, () => tidy(() => {
    const e = randn([N, 5]);
    const d = distances(rows(e));
    for (const margin of [0.1, 0.5]) {
      const head = new TripletMarginLoss({ embeddingDim: 5, numClasses: 3, mining, margin });
      assertClose(head.loss(e, y()), tripletReference(d, mining, margin), { ...tol, what: `margin ${margin}` });
    }
  }));
}

test('TripletMarginLoss: defaults, and zero loss with a usable gradient when no triplet exists', () => tidy(() => {
  const head = new TripletMarginLoss({ embeddingDim: 3, numClasses: 2 });
  assert.deepEqual([head.margin, head.mining, head.normalizeEmbeddings], [0.1, 'all', true]);
  const e = randn([4, 3], { requiresGrad: true });
  const loss = head.loss(e, tensor([1, 1, 1, 1], { dtype: 'int64' }));
  assert.equal(Math.abs(loss.item()), 0);
  loss.backward();
  assert.equal(e.grad!.abs().sum().item(), 0);
  assert.throws(() => new TripletMarginLoss({ embeddingDim: 3, numClasses: 2, mining: 'easy' as 'all' }), /Expected one of 'all', 'hard', 'semihard' for mining but received "easy"/);
}));

test('MultiSimilarityLoss with its miner matches loops over the kept pairs', () => tidy(() => {
  const e = randn([N, 5]);
  const s = similarities(rows(e));
  const reference = (alpha: number, beta: number, base: number, epsilon: number, mine: boolean): number => mean([...Array(N).keys()].map((i) => {
    const pos = [...Array(N).keys()].filter((j) => isPos(i, j));
    const neg = [...Array(N).keys()].filter((j) => isNeg(i, j));
    const minPos = Math.min(...pos.map((j) => s[i][j]));
    const maxNeg = Math.max(...neg.map((j) => s[i][j]));
    const keptPos = mine ? pos.filter((j) => s[i][j] < maxNeg + epsilon) : pos;
    const keptNeg = mine ? neg.filter((j) => s[i][j] > minPos - epsilon) : neg;
    const posTerm = Math.log(1 + keptPos.reduce((t, j) => t + Math.exp(-alpha * (s[i][j] - base)), 0)) / alpha;
    const negTerm = Math.log(1 + keptNeg.reduce((t, j) => t + Math.exp(beta * (s[i][j] - base)), 0)) / beta;
    return posTerm + negTerm;
  }));
  const head = new MultiSimilarityLoss({ embeddingDim: 5, numClasses: 3 });
  assert.deepEqual([head.alpha, head.beta, head.base, head.epsilon, head.mineFirst], [2, 50, 0.5, 0.1, true]);
  assertClose(head.loss(e, y()), reference(2, 50, 0.5, 0.1, true), { ...tol, what: 'defaults' });
  const other = new MultiSimilarityLoss({ embeddingDim: 5, numClasses: 3, alpha: 1, beta: 10, base: 0.1, epsilon: 0.3 });
  assertClose(other.loss(e, y()), reference(1, 10, 0.1, 0.3, true), { ...tol, what: 'other settings' });
  const unmined = new MultiSimilarityLoss({ embeddingDim: 5, numClasses: 3, mine: false });
  assertClose(unmined.loss(e, y()), reference(2, 50, 0.5, 0.1, false), { ...tol, what: 'without mining' });
}));

test('pair losses have no logits and leave no tensors behind', () => {
  const start = liveTensors();
  for (const name of ['contrastive', 'triplet', 'multisimilarity']) {
    const head = createHead(name, { embeddingDim: 5, numClasses: 3 });
    assert.equal(head.classifies, false);
    tidy(() => {
      const e = randn([N, 5], { requiresGrad: true });
      head.loss(e, y()).backward();
      assert.ok(e.grad!.isfinite().all().item() === 1);
      assert.throws(() => head.logits(e), new RegExp(`Head '${name}' does not classify`));
      assert.throws(() => head.predict(e), /does not classify/);
    });
  }
  assert.equal(liveTensors(), start);
});

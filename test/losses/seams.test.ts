// The pair losses' seams: the miner output conversions, miners on other distances, every miner with
// every pair loss, the triplet loss on cosine similarities, optional numClasses and MultipleLosses —
// each against plain-JS loops (float32; tolerance 1e-5 absolute + 1e-4 relative) or exact indices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import {
  ArcFaceHead, CenterLoss, ContrastiveLoss, type Mined, type Miner, MultiSimilarityLoss, MultiSimilarityMiner, MultipleLosses,
  type PairLoss, SoftmaxHead, TripletMarginLoss, TripletMiner, createHead, toPairs, toTriplets,
} from '../../src/losses/index.js';
import { CosineSimilarity, EuclideanDistance, SquaredEuclideanDistance } from '../../src/distances/index.js';
import { assertClose, gradcheck } from '../helpers.js';
import { type Matrix, dot, euclidean, mean, rows, unit } from './reference.js';

manualSeed(13);
const labels = [0, 0, 1, 1, 1, 2, 2, 0, 3];
const y = (): Tensor => tensor(labels, { dtype: 'int64' });
const N = labels.length;
const D = 5;
const tol = { atol: 1e-5, rtol: 1e-4 };
const idx = [...Array(N).keys()];
const isPos = (i: number, j: number): boolean => i !== j && labels[i] === labels[j];
const isNeg = (i: number, j: number): boolean => labels[i] !== labels[j];

const euclideanMatrix = (x: Matrix): Matrix => x.map(unit).map((a, _, u) => u.map((b) => euclidean(a, b)));
const cosineMatrix = (x: Matrix): Matrix => x.map(unit).map((a, _, u) => u.map((b) => dot(a, b)));
const meanNonZero = (v: number[]): number => {
  const nz = v.filter((t) => t > 0);
  return nz.length === 0 ? 0 : nz.reduce((s, t) => s + t, 0) / nz.length;
};
const meanOrZero = (v: number[]): number => (v.length === 0 ? 0 : mean(v));

type Pair = [number, number];
type Triplet = [number, number, number];
interface JsPairs { pos: Pair[]; neg: Pair[] }

function columns(...ts: Tensor[]): number[][] {
  const cols = ts.map((t) => t.toNumbers());
  return cols[0].map((_, i) => cols.map((c) => c[i]));
}
function jsMined(m: Mined): { triplets?: Triplet[]; pairs?: JsPairs } {
  if (m.kind === 'triplets') return { triplets: columns(m.anchors, m.positives, m.negatives) as Triplet[] };
  return { pairs: { pos: columns(m.positiveAnchors, m.positives) as Pair[], neg: columns(m.negativeAnchors, m.negatives) as Pair[] } };
}

/** Unique pairs in row-major order, as the masks give them. */
const uniqueSorted = (pairs: Pair[]): Pair[] => [...new Set(pairs.map(([a, b]) => a * N + b))].sort((u, v) => u - v).map((k) => [Math.floor(k / N), k % N]);
/** Triplets → their (a, p) and (a, n) pairs, each once. */
const jsToPairs = (t: Triplet[]): JsPairs => ({ pos: uniqueSorted(t.map(([a, p]) => [a, p])), neg: uniqueSorted(t.map(([a, , n]) => [a, n])) });
/** Pairs → every (a, p, n) sharing an anchor, in (a, p, n) order. */
function jsToTriplets(pairs: JsPairs): Triplet[] {
  const out: Triplet[] = [];
  for (const [a, p] of uniqueSorted(pairs.pos)) for (const [a2, n] of uniqueSorted(pairs.neg)) if (a === a2) out.push([a, p, n]);
  return out.sort((u, v) => u[0] - v[0] || u[1] - v[1] || u[2] - v[2]);
}
const allJsPairs = (): JsPairs => ({ pos: idx.flatMap((a) => idx.filter((j) => isPos(a, j)).map((j): Pair => [a, j])), neg: idx.flatMap((a) => idx.filter((j) => isNeg(a, j)).map((j): Pair => [a, j])) });

/** margin(x, y) of a distance (x − y) or a similarity (y − x). */
const marginOf = (inverted: boolean) => (x: number, yv: number): number => (inverted ? yv - x : x - yv);

function contrastiveReference(d: Matrix, pairs: JsPairs, inverted: boolean, posMargin: number, negMargin: number): number {
  const m = marginOf(inverted);
  return meanNonZero(pairs.pos.map(([a, p]) => Math.max(0, m(d[a][p], posMargin)))) + meanNonZero(pairs.neg.map(([a, n]) => Math.max(0, m(negMargin, d[a][n]))));
}
function tripletTerms(d: Matrix, triplets: Triplet[], inverted: boolean, margin: number): number[] {
  const m = marginOf(inverted);
  return triplets.map(([a, p, n]) => Math.max(0, m(d[a][p], d[a][n]) + margin));
}
function multiSimilarityReference(s: Matrix, pairs: JsPairs, alpha = 2, beta = 50, base = 0.5): number {
  return mean(idx.map((i) => {
    const pos = pairs.pos.filter(([a]) => a === i).map(([, j]) => s[i][j]);
    const neg = pairs.neg.filter(([a]) => a === i).map(([, k]) => s[i][k]);
    return Math.log(1 + pos.reduce((t, v) => t + Math.exp(-alpha * (v - base)), 0)) / alpha
      + Math.log(1 + neg.reduce((t, v) => t + Math.exp(beta * (v - base)), 0)) / beta;
  }));
}

test('toPairs and toTriplets convert mined tuples as plain JS does', () => tidy(() => {
  const e = randn([N, D]);
  for (const type of ['all', 'hard', 'semihard'] as const) {
    const triplets = new TripletMiner({ type }).mine(e, y());
    const t = jsMined(triplets).triplets!;
    assert.ok(t.length > 0);
    const pairs = toPairs(triplets, N);
    assert.equal(pairs.kind, 'pairs');
    assert.deepEqual(jsMined(pairs).pairs, jsToPairs(t), `pairs of ${type} triplets`);
    assert.equal(toTriplets(triplets, N), triplets, 'triplets pass through');
  }
  const pairs = new MultiSimilarityMiner().mine(e, y());
  const p = jsMined(pairs).pairs!;
  const triplets = toTriplets(pairs, N);
  assert.deepEqual(jsMined(triplets).triplets, jsToTriplets(p), 'triplets of mined pairs');
  assert.equal(toPairs(pairs, N), pairs, 'pairs pass through');
}));

test('the multi-similarity miner follows the paper\'s rules on similarities and on distances', () => tidy(() => {
  const e = randn([N, D]);
  const eps = 0.1;
  for (const [distance, matrix, inverted] of [[new CosineSimilarity(), cosineMatrix, true], [new EuclideanDistance(), euclideanMatrix, false]] as const) {
    const m = matrix(rows(e));
    const expected: JsPairs = { pos: [], neg: [] };
    for (const i of idx) {
      const pos = idx.filter((j) => isPos(i, j));
      const neg = idx.filter((k) => isNeg(i, k));
      // On similarities: keep negatives more similar than the least similar positive − ε, and
      // positives less similar than the most similar negative + ε. Distances mirror this.
      const s = (a: number, b: number): number => (inverted ? m[a][b] : -m[a][b]);
      const hardestPositive = Math.min(...pos.map((j) => s(i, j)));
      const hardestNegative = Math.max(...neg.map((k) => s(i, k)));
      for (const j of pos) if (s(i, j) < hardestNegative + eps) expected.pos.push([i, j]);
      for (const k of neg) if (s(i, k) > hardestPositive - eps) expected.neg.push([i, k]);
    }
    const mined = new MultiSimilarityMiner({ epsilon: eps, distance }).mine(e, y());
    assert.deepEqual(jsMined(mined).pairs, expected, distance.name);
  }
}));

const MINERS: [string, () => Miner | null][] = [
  ['no miner', () => null],
  ['triplet miner (all)', () => new TripletMiner({ type: 'all' })],
  ['triplet miner (hard)', () => new TripletMiner({ type: 'hard' })],
  ['triplet miner (semihard, cosine)', () => new TripletMiner({ type: 'semihard', distance: new CosineSimilarity() })],
  ['multi-similarity miner', () => new MultiSimilarityMiner({ epsilon: 0.2 })],
];

for (const [minerName, makeMiner] of MINERS) {
  test(`${minerName} × every pair loss matches loops over the mined tuples`, () => {
    const start = liveTensors();
    tidy(() => {
      const e = randn([N, D]);
      const miner = makeMiner();
      const mined = miner === null ? null : jsMined(miner.mine(e, y()));
      const [dE, sC] = [euclideanMatrix(rows(e)), cosineMatrix(rows(e))];

      const pairs = mined === null ? allJsPairs() : mined.pairs ?? jsToPairs(mined.triplets!);
      const contrastive = new ContrastiveLoss({ embeddingDim: D, miner });
      assertClose(contrastive.loss(e, y()), contrastiveReference(dE, pairs, false, 0, 1), { ...tol, what: 'contrastive' });

      const triplets = mined === null ? jsToTriplets(allJsPairs()) : mined.triplets ?? jsToTriplets(mined.pairs!);
      const triplet = new TripletMarginLoss({ embeddingDim: D, margin: 0.3, miner });
      const everyTriplet = miner === null || (miner instanceof TripletMiner && miner.type === 'all');
      assert.equal(triplet.reducer.name, everyTriplet ? 'meanNonZero' : 'mean');
      const terms = tripletTerms(dE, triplets, false, 0.3);
      assertClose(triplet.loss(e, y()), everyTriplet ? meanNonZero(terms) : meanOrZero(terms), { ...tol, what: 'triplet' });

      const ms = new MultiSimilarityLoss({ embeddingDim: D, miner });
      assertClose(ms.loss(e, y()), multiSimilarityReference(sC, pairs), { ...tol, what: 'multi-similarity' });

      // The same tuples handed to loss() directly give the same losses.
      if (miner !== null) {
        const tuples = miner.mine(e, y());
        assertClose(new ContrastiveLoss({ embeddingDim: D }).loss(e, y(), tuples), contrastive.loss(e, y()).item(), { ...tol, what: 'contrastive, tuples given' });
        assertClose(new MultiSimilarityLoss({ embeddingDim: D }).loss(e, y(), tuples), ms.loss(e, y()).item(), { ...tol, what: 'multi-similarity, tuples given' });
      }
    });
    assert.equal(liveTensors(), start);
  });
}

/** Triplet mining re-implemented on a similarity matrix: nearest = most similar. */
function cosineTripletReference(s: Matrix, mining: 'all' | 'hard' | 'semihard', margin: number): number {
  const terms: number[] = [];
  const term = (a: number, p: number, n: number): number => Math.max(0, s[a][n] - s[a][p] + margin);
  for (const a of idx) {
    const pos = idx.filter((j) => isPos(a, j));
    const neg = idx.filter((j) => isNeg(a, j));
    if (pos.length === 0 || neg.length === 0) continue;
    if (mining === 'hard') {
      const p = pos.reduce((b, j) => (s[a][j] < s[a][b] ? j : b)); // least similar positive
      const n = neg.reduce((b, j) => (s[a][j] > s[a][b] ? j : b)); // most similar negative
      terms.push(term(a, p, n));
      continue;
    }
    for (const p of pos) {
      if (mining === 'all') {
        for (const n of neg) terms.push(term(a, p, n));
      } else {
        const farther = neg.filter((j) => s[a][j] < s[a][p]);
        const n = farther.length > 0 ? farther.reduce((b, j) => (s[a][j] > s[a][b] ? j : b)) : neg.reduce((b, j) => (s[a][j] < s[a][b] ? j : b));
        terms.push(term(a, p, n));
      }
    }
  }
  return mining === 'all' ? meanNonZero(terms) : mean(terms);
}

for (const mining of ['all', 'hard', 'semihard'] as const) {
  test(`TripletMarginLoss with cosine similarity (${mining}) matches a loop over its triplets`, () => tidy(() => {
    const e = randn([N, D]);
    const s = cosineMatrix(rows(e));
    for (const margin of [0.1, 0.4]) {
      const loss = new TripletMarginLoss({ embeddingDim: D, distance: 'cosine', mining, margin });
      assert.equal(loss.distance.isInverted, true);
      assertClose(loss.loss(e, y()), cosineTripletReference(s, mining, margin), { ...tol, what: `margin ${margin}` });
    }
  }));
}

test('other distances and reducers through the config: squared euclidean contrastive, summed triplets', () => tidy(() => {
  const e = randn([N, D]);
  const d2 = euclideanMatrix(rows(e)).map((r) => r.map((v) => v * v));
  const contrastive = createHead('contrastive', { embeddingDim: D, distance: 'squaredEuclidean', negMargin: 1.5 });
  assertClose(contrastive.loss(e, y()), contrastiveReference(d2, allJsPairs(), false, 0, 1.5), { ...tol, what: 'squared euclidean contrastive' });
  const triplet = createHead('triplet', { embeddingDim: D, reducer: 'sum', mining: 'hard', margin: 0.5 });
  const hard = jsMined((triplet as TripletMarginLoss).mine(e, y())).triplets!;
  assertClose(triplet.loss(e, y()), tripletTerms(euclideanMatrix(rows(e)), hard, false, 0.5).reduce((t, v) => t + v, 0), { ...tol, what: 'summed hard triplets' });
  const rebuilt = createHead('triplet', JSON.parse(JSON.stringify(triplet.config())));
  assert.deepEqual(rebuilt.config(), triplet.config());
  assert.equal((rebuilt as TripletMarginLoss).reducer.name, 'sum');
  const withMiner = createHead('contrastive', { embeddingDim: D, miner: { name: 'triplet', type: 'hard' } });
  assert.deepEqual((withMiner.config() as { miner: unknown }).miner, { name: 'triplet', type: 'hard', distance: { name: 'euclidean', normalizeEmbeddings: true } });
  assert.deepEqual(createHead('contrastive', JSON.parse(JSON.stringify(withMiner.config()))).config(), withMiner.config());
  assert.throws(() => createHead('triplet', { embeddingDim: D, distance: 'manhattan' }), /Expected a distance name/);
  assert.throws(() => createHead('triplet', { embeddingDim: D, reducer: 'median' }), /Expected a reducer name/);
  assert.throws(() => createHead('triplet', { embeddingDim: D, miner: { name: 'random' } }), /Expected a miner name/);
}));

test('new combinations have exact gradients (float64 finite differences)', () => {
  const lab = tensor([0, 0, 1, 1, 2, 2], { dtype: 'int64' });
  for (const cfg of [{ distance: 'cosine', mining: 'hard', margin: 0.5 }, { distance: 'squaredEuclidean', margin: 0.5 }, { distance: 'dot', reducer: 'mean', margin: 0.5 }]) {
    const loss = createHead('triplet', { embeddingDim: 4, ...cfg });
    tidy(() => gradcheck((x) => loss.loss(x, lab), randn([6, 4], { dtype: 'float64' }), { what: JSON.stringify(cfg) }));
  }
  const contrastive = new ContrastiveLoss({ embeddingDim: 4, distance: new SquaredEuclideanDistance(), miner: new MultiSimilarityMiner() });
  tidy(() => gradcheck((x) => contrastive.loss(x, lab), randn([6, 4], { dtype: 'float64' }), { what: 'contrastive, squared euclidean, multi-similarity miner' }));
});

test('pair losses need no numClasses; heads that classify still do', () => tidy(() => {
  for (const name of ['contrastive', 'triplet', 'multisimilarity']) {
    const loss = createHead(name, { embeddingDim: D }) as PairLoss;
    assert.equal(loss.hasNumClasses, false);
    assert.equal('numClasses' in loss.config(), false, `${name} config has no numClasses`);
    assert.ok(Number.isFinite(loss.loss(randn([N, D]), tensor(labels.map((l) => l * 7 + 100), { dtype: 'int64' })).item()), `${name} takes any int64 ids`);
    assert.throws(() => loss.numClasses, new RegExp(`Head '${name}' was built without numClasses`));
    assert.equal(createHead(name, { embeddingDim: D, numClasses: 4 }).numClasses, 4);
  }
  assert.throws(() => createHead('arcface', { embeddingDim: D }), /Expected an integer ≥ 2 for numClasses but received undefined/);
}));

test('MultipleLosses: a weighted sum, the head\'s logits and state names, and clear errors', () => {
  const start = liveTensors();
  const triplet = new TripletMarginLoss({ embeddingDim: D });
  const contrastive = new ContrastiveLoss({ embeddingDim: D });
  const pairSum = new MultipleLosses({ embeddingDim: D, losses: { triplet, contrastive }, weights: { contrastive: 0.25 } });
  const arcface = new ArcFaceHead({ embeddingDim: D, numClasses: 4 });
  const center = new CenterLoss({ embeddingDim: D, numClasses: 4 });
  const withHead = new MultipleLosses({ embeddingDim: D, head: arcface, losses: { center }, weights: { head: 2, center: 0.5 } });
  tidy(() => {
    const e = randn([N, D], { requiresGrad: true });
    assert.equal(pairSum.classifies, false);
    assertClose(pairSum.loss(e, y()), triplet.loss(e, y()).item() + 0.25 * contrastive.loss(e, y()).item(), { ...tol, what: 'pair losses' });
    assert.throws(() => pairSum.logits(e), /does not classify/);
    assert.throws(() => pairSum.lossTerms(e, y()), /Expected every loss to have per-sample terms but triplet, contrastive has none/);

    assert.equal(withHead.classifies, true);
    assert.deepEqual(Object.keys(withHead.stateDict()).sort(), ['center.centers', 'weight']);
    assert.deepEqual(withHead.logits(e).toNumbers(), arcface.logits(e).toNumbers());
    const terms = withHead.lossTerms(e, y());
    const expected = arcface.lossTerms(e, y()).mul(2).add(center.lossTerms(e, y()).mul(0.5));
    assertClose(terms, expected.toNumbers(), { ...tol, what: 'weighted terms' });
    assertClose(withHead.loss(e, y()), mean(expected.toNumbers()), { ...tol, what: 'loss = mean of terms' });
    withHead.loss(e, y()).backward();
    for (const [name, p] of withHead.namedParameters()) assert.ok(p.grad!.abs().sum().item() > 0, `${name} receives a gradient`);
    withHead.eval();
    assert.equal(arcface.training, false, 'train/eval reach the head');
    withHead.train();
  });
  const softmax = new SoftmaxHead({ embeddingDim: D, numClasses: 3 });
  assert.throws(() => new MultipleLosses({ embeddingDim: D, head: softmax, losses: { fc: center } }), /Expected a loss name other than 'fc'/);
  softmax.dispose();
  assert.throws(() => new MultipleLosses({ embeddingDim: D, losses: { center }, weights: { centre: 1 } }), /Expected weights for center but received 'centre'/);
  assert.throws(() => new MultipleLosses({ embeddingDim: D, losses: {} }), /Expected a head or at least one loss/);
  assert.throws(() => new MultipleLosses({ embeddingDim: D, losses: { x: {} as never } }), /Expected a loss module/);
  withHead.dispose();
  assert.equal(liveTensors(), start);
});

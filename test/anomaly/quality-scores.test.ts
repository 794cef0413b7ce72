// The scores added for anomaly quality, each against a plain-JS loop: max-logit, normal-logit,
// cosine k-NN on L2-normalised features (the knn scorer's default metric), Mahalanobis at several
// depths, flip test-time averaging, and the z-normalised fusion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, randn, tidy, noGrad, type Tensor } from '../../src/index.js';
import { KnnScorer } from '../../src/eval/scorers/knn-scorer.js';
import { MaxLogitScorer, NormalLogitScorer } from '../../src/eval/scorers/logit-scorers.js';
import { createScorer, HEAD_SCORER_NAMES } from '../../src/eval/scorers/registry.js';
import { SoftmaxHead } from '../../src/losses/softmax-head.js';
import { TripletMarginLoss } from '../../src/losses/triplet-margin-loss.js';
import { ScoreFusion, zStats } from '../../src/anomaly/fusion.js';
import { DepthMahalanobis } from '../../src/anomaly/depth-mahalanobis.js';
import { FlipAveraged } from '../../src/anomaly/flip-averaged.js';
import { embedDepths } from '../../src/anomaly/depth-embeddings.js';
import { depthFeatures } from '../../src/models/depth-features.js';
import { EmbeddingNet } from '../../src/models/embedding-net.js';
import { SmallConvNet } from '../../src/models/small-convnet.js';
import { embedDataset, imagesToTensor } from '../../src/inference/index.js';
import { assertClose } from '../helpers.js';

const rows = (t: Tensor): number[][] => t.toArray() as number[][];
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const sampleStd = (v: number[]): number => Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1));

test('max-logit and normal-logit scores match JS loops over the head\'s logits; registry scorers that take the head', () => {
  manualSeed(3);
  const base = liveTensors();
  const head = new SoftmaxHead({ embeddingDim: 6, numClasses: 5 });
  tidy(() => {
    const emb = randn([12, 6]).mul(3);
    const l = rows(head.logits(emb));
    const maxLogit = createScorer('max-logit', {}, { head });
    assert.ok(maxLogit instanceof MaxLogitScorer);
    maxLogit.fit(randn([4, 6]));
    assertClose(maxLogit.score(emb), l.map((r) => -Math.max(...r)), { atol: 1e-5 });
    for (const k of [1, 2]) {
      const normalLogit = new NormalLogitScorer({ normalClassCount: k }, { head });
      normalLogit.fit(randn([4, 6]));
      assertClose(normalLogit.score(emb), l.map((r) => -Math.max(...r.slice(0, k))), { atol: 1e-5 });
      assert.deepEqual(normalLogit.options, { normalClassCount: k });
      assert.deepEqual(normalLogit.fittedState(), {}, 'nothing fitted: the head is the state');
      normalLogit.dispose();
    }
    assert.ok(HEAD_SCORER_NAMES.includes('max-logit') && HEAD_SCORER_NAMES.includes('normal-logit'));
    assert.throws(() => maxLogit.score(randn([2, 4])), /Expected embeddings with 6 features \(as in fit\)/);
    assert.throws(() => new NormalLogitScorer({ normalClassCount: 5 }, { head }), /normalClassCount of the normal-logit scorer \(fewer than the head's 5 classes\)/);
    assert.throws(() => createScorer('max-logit', { k: 1 }), /Unknown option "k" for the max-logit scorer/);
    assert.throws(() => new MaxLogitScorer({}).fit(randn([2, 6])), /needs the head's class logits/);
    const triplet = new TripletMarginLoss({ embeddingDim: 6, numClasses: 2 });
    assert.throws(() => createScorer('normal-logit', {}, { head: triplet }), /Expected a head with class logits for the normal-logit score/);
    triplet.dispose();
    maxLogit.dispose();
  });
  head.dispose();
  assert.equal(liveTensors(), base);
});

test('cosine k-NN on L2-normalised features is the knn scorer with its default metric', () => {
  manualSeed(4);
  const base = liveTensors();
  tidy(() => {
    const train = randn([30, 6]);
    const queries = randn([8, 6]).mul(2);
    const unit = (v: number[]): number[] => { const n = Math.hypot(...v); return v.map((x) => x / n); };
    const t = rows(train).map(unit);
    const k = 4;
    // On unit vectors 1 − cos = ½‖a − b‖²: the mean over the k nearest.
    const expected = rows(queries).map(unit).map((q) => mean(t.map((p) => 1 - p.reduce((s, v, i) => s + v * q[i], 0)).sort((a, b) => a - b).slice(0, k)));
    const knn = new KnnScorer({ k });
    assert.equal(knn.metric, 'cosine');
    knn.fit(train);
    assertClose(knn.score(queries), expected, { atol: 1e-5 });
    knn.dispose();
  });
  assert.equal(liveTensors(), base);
});

/** Plain-JS squared Mahalanobis distance to the nearest class mean, shared Ledoit–Wolf covariance (sklearn's formula). */
function jsMahalanobis(fit: number[][], labels: number[], queries: number[][]): number[] {
  const p = fit[0].length;
  const n = fit.length;
  const classes = [...new Set(labels)];
  const means = classes.map((c) => {
    const members = fit.filter((_, i) => labels[i] === c);
    return Array.from({ length: p }, (_, j) => mean(members.map((r) => r[j])));
  });
  const res = fit.map((r, i) => r.map((v, j) => v - means[classes.indexOf(labels[i])][j]));
  const S = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => res.reduce((s, r) => s + r[a] * r[b], 0) / n));
  const mu = S.reduce((s, r, i) => s + r[i], 0) / p;
  const deltaRaw = S.flat().reduce((s, v) => s + v * v, 0);
  let betaRaw = 0;
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) betaRaw += res.reduce((s, r) => s + r[a] * r[a] * r[b] * r[b], 0);
  const delta = (deltaRaw - 2 * mu * mu * p + p * mu * mu) / p;
  const beta = Math.min((betaRaw / n - deltaRaw) / (p * n), delta);
  const shrink = beta / delta;
  const C = S.map((r, a) => r.map((v, b) => (1 - shrink) * v + (a === b ? shrink * mu : 0)));
  // Gauss–Jordan inverse.
  const A = C.map((r, i) => [...r, ...Array.from({ length: p }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < p; c++) {
    const piv = A[c][c];
    for (let j = 0; j < 2 * p; j++) A[c][j] /= piv;
    for (let r = 0; r < p; r++) if (r !== c) { const f = A[r][c]; for (let j = 0; j < 2 * p; j++) A[r][j] -= f * A[c][j]; }
  }
  const P = A.map((r) => r.slice(p));
  return queries.map((q) => Math.min(...means.map((m) => {
    const d = q.map((v, j) => v - m[j]);
    return d.reduce((s, da, a) => s + da * d.reduce((t, db, b) => t + P[a][b] * db, 0), 0);
  })));
}

test('Mahalanobis at several depths: each layer as a JS Ledoit–Wolf reference, z-normalised on validation normals, summed', () => {
  manualSeed(5);
  const base = liveTensors();
  const dm = new DepthMahalanobis();
  tidy(() => {
    const fit = [randn([40, 3], { dtype: 'float64' }), randn([40, 5], { dtype: 'float64' })];
    const labels = Array.from({ length: 40 }, (_, i) => i % 2);
    const val = [randn([15, 3], { dtype: 'float64' }), randn([15, 5], { dtype: 'float64' })];
    const test_ = [randn([10, 3], { dtype: 'float64' }).mul(2), randn([10, 5], { dtype: 'float64' })];
    dm.fit(fit, labels, val);
    const perLayer = fit.map((f, l) => ({ val: jsMahalanobis(rows(f), labels, rows(val[l])), test: jsMahalanobis(rows(f), labels, rows(test_[l])) }));
    for (const [l, s] of dm.layerScores(test_).entries()) assertClose(s, perLayer[l].test, { atol: 1e-8, rtol: 1e-6, what: `layer ${l}` });
    const expected = test_[0].toArray() as unknown[];
    const fused = expected.map((_, i) => perLayer.reduce((s, { val: v, test: t }) => s + (t[i] - mean(v)) / sampleStd(v), 0));
    assertClose(dm.score(test_), fused, { atol: 1e-8, rtol: 1e-6 });
    assert.equal(dm.stats.layer0.n, 15);
    assert.throws(() => dm.score([test_[0]]), /Expected features of 2 layers \(as in fit\) but received 1/);
  });
  dm.dispose();
  assert.equal(liveTensors(), base);
});

test('features at several depths: the last layer pooled is the embedding, earlier ones the pooled chain; flip averaging mirrors pixels', () => {
  manualSeed(6);
  const base = liveTensors();
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  model.eval();
  const [n, s, c] = [3, 8, 3];
  const bytes = Uint8Array.from({ length: n * s * s * c }, (_, i) => (i * 37) % 251);
  const mirrored = new Uint8Array(bytes.length);
  for (let i = 0; i < n; i++) for (let r = 0; r < s; r++) for (let col = 0; col < s; col++) for (let ch = 0; ch < c; ch++) {
    mirrored[((i * s + r) * s + col) * c + ch] = bytes[((i * s + r) * s + (s - 1 - col)) * c + ch];
  }
  noGrad(() => tidy(() => {
    const x = imagesToTensor({ images: bytes, size: n, height: s, width: s, channels: c });
    const xm = imagesToTensor({ images: mirrored, size: n, height: s, width: s, channels: c });
    const [first, last] = depthFeatures(model.backbone, x, [0, -1]);
    assertClose(last, model.forward(x).toNumbers(), { atol: 1e-6 });
    const layer0 = (model.backbone as SmallConvNet).features.layers[0].forward(x).mean([2, 3]);
    assertClose(first, layer0.toNumbers(), { atol: 1e-6 });
    assertClose(new FlipAveraged(model).forward(x), model.forward(x).add(model.forward(xm)).div(2).toNumbers(), { atol: 1e-6 });
    assert.throws(() => depthFeatures(model.backbone, x, [5]), /Expected layer indices between -5 and 4 \(the backbone has 5 feature layers\) but received 5/);
    // Dataset level, with flip: the mean of the plain and mirrored pooled features.
    const data = { images: bytes, labels: new Int32Array(n), height: s, width: s, channels: c, classes: ['a'] };
    const [tta] = embedDepths(model, data, [-1], { norm: { kind: 'unit' }, tta: 'flip' });
    const plain = embedDataset(model, data, { norm: { kind: 'unit' } });
    const flipped = embedDataset(model, { ...data, images: mirrored }, { norm: { kind: 'unit' } });
    assertClose(tta, plain.add(flipped).div(2).toNumbers(), { atol: 1e-6 });
    tta.dispose();
  }));
  model.dispose();
  assert.equal(liveTensors(), base);
});

test('fusion: each score z-normalised with its validation mean and sample std, then summed', () => {
  const val = { a: [1, 2, 3, 4], b: [10, 30, 20, 40] };
  const fusion = new ScoreFusion().fit(val);
  const scores = { a: [0, 5, 2.5], b: [25, 0, 60] };
  const expected = [0, 1, 2].map((i) => (scores.a[i] - mean(val.a)) / sampleStd(val.a) + (scores.b[i] - mean(val.b)) / sampleStd(val.b));
  assertClose(fusion.fuse(scores), expected, { atol: 1e-12 });
  assert.deepEqual(fusion.stats.a, { mean: 2.5, std: sampleStd(val.a), n: 4 });
  assert.throws(() => fusion.fuse({ a: [1] }), /'b' is missing/);
  assert.throws(() => fusion.fuse({ a: [1], b: [1, 2] }), /Expected 1 scores \(one per image\) for 'b'/);
  assert.throws(() => fusion.fuse({ ...scores, c: [1, 2, 3] }), /Expected only the fitted components \(a, b\) but received 'c'/);
  assert.throws(() => zStats([3, 3, 3], "'knn'"), /Expected the normal validation values of 'knn' to vary/);
  assert.throws(() => new ScoreFusion().fuse(scores), /call fit\(validation\) before fuse/);
});

// The margin-softmax family against plain-JS recomputations: cosines from normalised rows, the
// variant's target rule written independently (e.g. ArcFace with Math.acos rather than the
// library's cos·cos m − sin·sin m expansion), scale and cross-entropy. Float32 with s up to 30:
// tolerance 1e-4 absolute + 1e-4 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, linspace, manualSeed, noGrad, randn, scalar, tensor, tidy } from '../../src/index.js';
import {
  AdaCosHead, ArcFaceHead, CosFaceHead, type MarginSoftmaxHead, NormalizedSoftmaxHead, SphereFaceHead, SubCenterArcFaceHead, adaCosFixedScale,
} from '../../src/losses/index.js';
import { assertClose } from '../helpers.js';
import { type Matrix, cosines, crossEntropy, lowerMedian, mean, norm, rows } from './reference.js';

manualSeed(5);
const tol = { atol: 1e-4, rtol: 1e-4 };
const labels = [0, 2, 1, 2, 3, 0, 1];
const y = (): Tensor => tensor(labels, { dtype: 'int64' });
const D = 6;
const C = 4;

/** Per-sample terms: target rule on cos[i][y_i], scale (per sample or shared), cross-entropy. */
function reference(cos: Matrix, rule: (c: number) => number, scale: (i: number) => number): { terms: number[]; logits: number[][] } {
  const logits = cos.map((row, i) => row.map((c) => c * scale(i)));
  const terms = cos.map((row, i) => crossEntropy(row.map((c, j) => (j === labels[i] ? rule(c) : c) * scale(i)), labels[i]));
  return { terms, logits };
}

function checkHead(head: MarginSoftmaxHead, e: Tensor, expected: { terms: number[]; logits: number[][] }, what: string): void {
  assertClose(head.lossTerms(e, y()), expected.terms, { ...tol, what: `${what} terms` });
  assertClose(head.loss(e, y()), mean(expected.terms), { ...tol, what: `${what} loss` });
  assertClose(head.logits(e), expected.logits.flat(), { ...tol, what: `${what} logits` });
}

test('NormalizedSoftmaxHead: s·cos θ, no margin (s defaults to 16)', () => tidy(() => {
  const head = new NormalizedSoftmaxHead({ embeddingDim: D, numClasses: C });
  assert.equal(head.scale, 16);
  const e = randn([7, D]);
  const cos = cosines(rows(e), rows(head.weight));
  checkHead(head, e, reference(cos, (c) => c, () => 16), 'normface');
}));

test('CosFaceHead: s·(cos θ_y − m) (defaults s = 30, m = 0.35)', () => tidy(() => {
  const head = new CosFaceHead({ embeddingDim: D, numClasses: C });
  assert.deepEqual([head.scale, head.margin], [30, 0.35]);
  const custom = new CosFaceHead({ embeddingDim: D, numClasses: C, scale: 10, margin: 0.2 });
  const e = randn([7, D]);
  checkHead(head, e, reference(cosines(rows(e), rows(head.weight)), (c) => c - 0.35, () => 30), 'cosface');
  checkHead(custom, e, reference(cosines(rows(e), rows(custom.weight)), (c) => c - 0.2, () => 10), 'cosface s=10');
}));

test('ArcFaceHead: s·cos(θ_y + m), and cos θ − m·sin m past θ = π − m (defaults s = 30, m = 0.5)', () => tidy(() => {
  const head = new ArcFaceHead({ embeddingDim: D, numClasses: C });
  assert.deepEqual([head.scale, head.margin], [30, 0.5]);
  const m = 0.5;
  const w = rows(head.weight);
  // Sample 0 points away from its class (θ near π), so the fallback branch is exercised.
  const x = rows(randn([7, D]));
  x[0] = w[labels[0]].map((v, d) => -v + 0.01 * (d % 2));
  const e = tensor(x);
  const cos = cosines(x, w);
  assert.ok(Math.acos(cos[0][labels[0]]) > Math.PI - m, 'sample 0 is past π − m');
  const rule = (c: number): number => (Math.acos(c) + m <= Math.PI ? Math.cos(Math.acos(c) + m) : c - m * Math.sin(m));
  checkHead(head, e, reference(cos, rule, () => 30), 'arcface');
}));

test('ArcFace target logit decreases monotonically in θ over [0, π] (float64)', () => tidy(() => {
  for (const m of [0.2, 0.5, 1.0]) {
    const head = new ArcFaceHead({ embeddingDim: 2, numClasses: 3, margin: m });
    const theta = linspace(0, Math.PI, 4001, { dtype: 'float64' });
    const values = head.targetLogit(theta.cos()).toNumbers();
    for (let i = 1; i < values.length; i++) {
      assert.ok(values[i] <= values[i - 1] + 1e-12, `m=${m}: logit rises between θ=${(Math.PI * (i - 1)) / 4000} and the next θ`);
    }
    // Below π − m it is exactly cos(θ + m).
    const i = 1000;
    assertClose(values[i], Math.cos((Math.PI * i) / 4000 + m), { atol: 1e-12, what: 'cos(θ+m)' });
  }
}));

test('SphereFaceHead: ‖x‖·(λ·cos θ_y + ψ(θ_y))/(1 + λ), ψ = (−1)^k cos(mθ) − 2k, with λ annealed', () => tidy(() => {
  const head = new SphereFaceHead({ embeddingDim: D, numClasses: C });
  const e = randn([7, D]).mul(3);
  const x = rows(e);
  const cos = cosines(x, rows(head.weight));
  const psi = (c: number): number => {
    const t = Math.acos(c);
    const k = Math.floor((4 * t) / Math.PI);
    return (-1) ** k * Math.cos(4 * t) - 2 * k;
  };
  const rule = (lambda: number) => (c: number): number => (lambda * c + psi(c)) / (1 + lambda);
  const norms = x.map(norm);

  head.eval();
  checkHead(head, e, reference(cos, rule(1000), (i) => norms[i]), 'sphereface λ=1000');
  assert.equal(head.iteration.item(), 0, 'eval mode does not advance the iteration');

  head.train();
  assertClose(head.loss(e, y()), mean(reference(cos, rule(1000), (i) => norms[i]).terms), { ...tol, what: 'first training step' });
  assert.equal(head.iteration.item(), 1);
  assertClose(head.lambda(), 1000 / 1.12, { rtol: 1e-6, what: 'λ after one step' });
  assertClose(head.loss(e, y()), mean(reference(cos, rule(1000 / 1.12), (i) => norms[i]).terms), { ...tol, what: 'second training step' });

  noGrad(() => head.iteration.copy_(scalar(1e6, { dtype: 'int64' })));
  assertClose(head.lambda(), 5, { atol: 1e-6, what: 'λ floor' });
  head.eval();
  checkHead(head, e, reference(cos, rule(5), (i) => norms[i]), 'sphereface λ=5');
}));

test('SphereFace ψ matches the formula and decreases over [0, π]', () => tidy(() => {
  for (const m of [1, 2, 3, 4]) {
    const head = new SphereFaceHead({ embeddingDim: 2, numClasses: 3, margin: m });
    const thetas = Array.from({ length: 999 }, (_, i) => (Math.PI * (i + 1)) / 1000);
    const values = head.psi(tensor(thetas.map(Math.cos), { dtype: 'float64' })).toNumbers();
    const expected = thetas.map((t) => {
      const k = Math.floor((m * t) / Math.PI);
      return (-1) ** k * Math.cos(m * t) - 2 * k;
    });
    assertClose(values, expected, { atol: 1e-6, what: `ψ m=${m}` });
    for (let i = 1; i < values.length; i++) assert.ok(values[i] <= values[i - 1] + 1e-9, `ψ (m=${m}) rises at θ index ${i}`);
  }
}));

test('AdaCosHead fixed: s = √2·ln(C − 1), no margin', () => tidy(() => {
  const head = new AdaCosHead({ embeddingDim: D, numClasses: C, dynamic: false });
  const s = Math.SQRT2 * Math.log(C - 1);
  assertClose(head.currentScale, s, { rtol: 1e-6 });
  assertClose(adaCosFixedScale(10), Math.SQRT2 * Math.log(9), { atol: 1e-12 });
  const e = randn([7, D]);
  checkHead(head, e, reference(cosines(rows(e), rows(head.weight)), (c) => c, () => s), 'adacos fixed');
  assertClose(head.currentScale, s, { rtol: 1e-6, what: 'fixed s does not move in training' });
  assert.throws(() => new AdaCosHead({ embeddingDim: D, numClasses: 2 }), /Expected numClasses ≥ 3 for adacos but received 2/);
}));

test('AdaCosHead dynamic: s ← ln(B_avg)/cos(min(π/4, θ_med)) from each training batch, fixed in eval', () => tidy(() => {
  const head = new AdaCosHead({ embeddingDim: D, numClasses: C });
  assert.equal(head.dynamic, true);
  const e = randn([7, D]);
  const cos = cosines(rows(e), rows(head.weight));
  const s0 = Math.SQRT2 * Math.log(C - 1);
  const bAvg = cos.reduce((sum, row, i) => sum + row.reduce((t, c, j) => t + (j === labels[i] ? 0 : Math.exp(s0 * c)), 0), 0) / cos.length;
  const thetaMed = lowerMedian(cos.map((row, i) => Math.acos(row[labels[i]])));
  const s1 = Math.log(bAvg) / Math.cos(Math.min(Math.PI / 4, thetaMed));
  const expected = reference(cos, (c) => c, () => s1);
  assertClose(head.lossTerms(e, y()), expected.terms, { ...tol, what: 'terms with the updated s' });
  assertClose(head.currentScale, s1, { rtol: 1e-5, what: 's after one batch' });
  head.eval();
  assertClose(head.loss(e, y()), mean(expected.terms), { ...tol, what: 'eval loss' });
  assertClose(head.currentScale, s1, { rtol: 1e-5, what: 's unchanged in eval' });
}));

test('SubCenterArcFaceHead: W is [C·K, D]; a class cosine is the max over its K sub-centres', () => tidy(() => {
  const head = new SubCenterArcFaceHead({ embeddingDim: D, numClasses: C, subCenters: 3 });
  assert.deepEqual(head.weight.shape, [C * 3, D]);
  const e = randn([7, D]);
  const all = cosines(rows(e), rows(head.weight));
  const cos = all.map((row) => Array.from({ length: C }, (_, c) => Math.max(row[3 * c], row[3 * c + 1], row[3 * c + 2])));
  const rule = (c: number): number => (Math.acos(c) + 0.5 <= Math.PI ? Math.cos(Math.acos(c) + 0.5) : c - 0.5 * Math.sin(0.5));
  checkHead(head, e, reference(cos, rule, () => 30), 'subcenter');
  assert.equal(new SubCenterArcFaceHead({ embeddingDim: D, numClasses: C }).subCenters, 3);
}));

test('margin heads reject bad options', () => {
  assert.throws(() => new CosFaceHead({ embeddingDim: D, numClasses: C, scale: -1 }), /Expected a number > 0 for scale but received -1/);
  assert.throws(() => new CosFaceHead({ embeddingDim: D, numClasses: C, margin: -0.1 }), /Expected a number ≥ 0 for margin but received -0.1/);
  assert.throws(() => new ArcFaceHead({ embeddingDim: D, numClasses: C, margin: 2 }), /for margin but received 2/);
  assert.throws(() => new SphereFaceHead({ embeddingDim: D, numClasses: C, margin: 1.5 }), /Expected an integer ≥ 1 for margin but received 1.5/);
  assert.throws(() => new SubCenterArcFaceHead({ embeddingDim: D, numClasses: C, subCenters: 0 }), /Expected an integer ≥ 1 for subCenters but received 0/);
});

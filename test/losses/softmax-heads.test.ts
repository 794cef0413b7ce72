// SoftmaxHead, L2SoftmaxHead and SoftmaxCenterHead against plain-JS recomputations (tolerance
// 1e-5 absolute + 1e-4 relative in float32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import { L2SoftmaxHead, SoftmaxCenterHead, SoftmaxHead, l2SoftmaxAlphaLow } from '../../src/losses/index.js';
import { assertClose } from '../helpers.js';
import { crossEntropy, dot, mean, rows, unit } from './reference.js';

manualSeed(11);
const labels = [0, 2, 1, 2, 3, 0];
const y = (): ReturnType<typeof tensor> => tensor(labels, { dtype: 'int64' });

function affine(x: number[], w: number[][], b: number[]): number[] {
  return w.map((row, c) => dot(x, row) + b[c]);
}

test('SoftmaxHead: logits x·Wᵀ + b and mean cross-entropy', () => tidy(() => {
  const head = new SoftmaxHead({ embeddingDim: 5, numClasses: 4 });
  const e = randn([6, 5]);
  const [x, w, b] = [rows(e), rows(head.fc.weight), head.fc.bias!.toNumbers()];
  const z = x.map((xi) => affine(xi, w, b));
  assertClose(head.logits(e), z.flat(), { what: 'logits' });
  assertClose(head.lossTerms(e, y()), z.map((zi, i) => crossEntropy(zi, labels[i])), { what: 'terms' });
  assertClose(head.loss(e, y()), mean(z.map((zi, i) => crossEntropy(zi, labels[i]))), { what: 'loss' });
  assert.deepEqual(head.predict(e).toNumbers(), z.map((zi) => zi.indexOf(Math.max(...zi))));
  assert.deepEqual(Object.keys(head.stateDict()), ['fc.weight', 'fc.bias']);
}));

test('L2SoftmaxHead: α·x/‖x‖ per sample, then a linear layer with bias', () => tidy(() => {
  const head = new L2SoftmaxHead({ embeddingDim: 5, numClasses: 4, alpha: 7 });
  const e = randn([6, 5]);
  const [x, w, b] = [rows(e), rows(head.fc.weight), head.fc.bias!.toNumbers()];
  const z = x.map((xi) => affine(unit(xi).map((v) => 7 * v), w, b));
  assertClose(head.logits(e), z.flat(), { what: 'logits' });
  assertClose(head.loss(e, y()), mean(z.map((zi, i) => crossEntropy(zi, labels[i]))), { what: 'loss' });
  // Per sample, never over the batch: a sample's logits ignore its own norm and the other samples.
  const scaled = e.mul(tensor([[3], [1], [1], [1], [1], [0.1]]));
  assertClose(head.logits(scaled), z.flat(), { what: 'logits after rescaling samples' });
  assertClose(head.logits(e.narrow(0, 0, 1)), z[0], { what: 'logits of a batch of one' });
}));

test('L2SoftmaxHead: learnable α is the parameter "alpha" and receives a gradient', () => tidy(() => {
  const head = new L2SoftmaxHead({ embeddingDim: 5, numClasses: 4, learnableAlpha: true });
  assert.deepEqual(head.alphaParameter!.shape, []);
  assert.equal(head.alpha, 15);
  assert.ok(Object.keys(head.stateDict()).includes('alpha'));
  const e = randn([6, 5]);
  head.loss(e, y()).backward();
  const g = head.alphaParameter!.grad!;
  assert.ok(Number.isFinite(g.item()) && g.item() !== 0, 'alpha gradient');
  assert.equal(new L2SoftmaxHead({ embeddingDim: 5, numClasses: 4 }).parameters().length, 2);
}));

test('α_low(C=10, p=0.9) = log 72 ≈ 4.28; a warning once when α is below it', () => {
  assert.equal(l2SoftmaxAlphaLow(10, 0.9).toFixed(2), '4.28');
  assertClose(l2SoftmaxAlphaLow(10, 0.9), Math.log(72), { atol: 1e-12 });
  assert.throws(() => l2SoftmaxAlphaLow(10, 1), /Expected a number between 0 and 1 \(exclusive\) for p of l2SoftmaxAlphaLow but received 1/);
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (msg: string) => { warnings.push(msg); };
  const base = liveTensors();
  try {
    for (let i = 0; i < 3; i++) new L2SoftmaxHead({ embeddingDim: 4, numClasses: 10, alpha: 3.5 }).dispose();
    new L2SoftmaxHead({ embeddingDim: 4, numClasses: 10, alpha: 4.3 }).dispose();
  } finally {
    console.warn = original;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /alpha = 3.5 is below the lower bound 4.28 for 10 classes/);
  assert.equal(liveTensors(), base, 'disposed heads free their tensors');
});

test('argument checks say what was expected and what was received', () => {
  assert.throws(() => new L2SoftmaxHead({ embeddingDim: 4, numClasses: 3, alpha: -1 }), /Expected a number > 0 for alpha but received -1/);
  assert.throws(() => new SoftmaxHead({ embeddingDim: 0, numClasses: 3 }), /Expected an integer ≥ 1 for embeddingDim but received 0/);
  assert.throws(() => new SoftmaxHead({ embeddingDim: 4, numClasses: 1 }), /Expected an integer ≥ 2 for numClasses but received 1/);
  tidy(() => {
    const head = new SoftmaxHead({ embeddingDim: 4, numClasses: 3 });
    assert.throws(() => head.loss(randn([2, 5]), tensor([0, 1], { dtype: 'int64' })), /Expected embeddings of shape \[N,4\] but received \[2,5\]/);
    assert.throws(() => head.loss(randn([2, 4]), tensor([0, 1])), /Expected int64 labels but received dtype float32/);
    assert.throws(() => head.loss(randn([2, 4]), tensor([0, 1, 2], { dtype: 'int64' })), /Expected labels of shape \[2\]/);
    assert.throws(() => head.loss(randn([2, 4]), tensor([0, 3], { dtype: 'int64' })), /Expected labels between 0 and 2 but received values from 0 to 3/);
  });
});

test('SoftmaxCenterHead: cross-entropy + λ·½‖x − c_y‖², centres learned', () => tidy(() => {
  const head = new SoftmaxCenterHead({ embeddingDim: 5, numClasses: 4, centerWeight: 0.3 });
  head.center.centers.requiresGrad_(false);
  head.center.centers.copy_(randn([4, 5]));
  head.center.centers.requiresGrad_(true);
  const e = randn([6, 5]);
  const [x, w, b, c] = [rows(e), rows(head.fc.weight), head.fc.bias!.toNumbers(), rows(head.center.centers)];
  const terms = x.map((xi, i) => {
    const ce = crossEntropy(affine(xi, w, b), labels[i]);
    const sq = xi.reduce((s, v, d) => s + (v - c[labels[i]][d]) ** 2, 0);
    return ce + 0.3 * 0.5 * sq;
  });
  assertClose(head.lossTerms(e, y()), terms, { what: 'terms' });
  assertClose(head.loss(e, y()), mean(terms), { what: 'loss' });
  assert.deepEqual(Object.keys(head.stateDict()).sort(), ['center.centers', 'fc.bias', 'fc.weight']);
  assertClose(head.center.loss(e, y()), mean(x.map((xi, i) => 0.5 * xi.reduce((s, v, d) => s + (v - c[labels[i]][d]) ** 2, 0))), { what: 'center loss' });
  head.loss(e, y()).backward();
  assert.ok(head.center.centers.grad!.abs().sum().item() > 0, 'centres receive a gradient');
  assert.equal(new SoftmaxCenterHead({ embeddingDim: 5, numClasses: 4 }).centerWeight, 0.01);
}));

// Autograd gradients of the core nn ops against central finite differences (float64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, manualSeed, randn, rand, tensor, tidy, type Tensor } from '../../src/index.js';
import { gradcheck } from '../helpers.js';

manualSeed(7);
const f64 = { dtype: 'float64' as const };

test('conv2d gradient (input and weight, stride 2, padding 1)', () => tidy(() => {
  const w = randn([3, 2, 3, 3], f64);
  const x = randn([2, 2, 5, 5], f64);
  const probe = randn([2, 3, 3, 3], f64);
  gradcheck((xx) => F.conv2d(xx, w, null, { stride: 2, padding: 1 }).mul(probe).sum(), x, { what: 'd/dx conv2d' });
  gradcheck((ww) => F.conv2d(x, ww, null, { stride: 2, padding: 1 }).mul(probe).sum(), w, { what: 'd/dw conv2d' });
}));

test('depthwise conv2d gradient', () => tidy(() => {
  const w = randn([3, 1, 3, 3], f64);
  const x = randn([1, 3, 4, 4], f64);
  const probe = randn([1, 3, 4, 4], f64);
  gradcheck((xx) => F.conv2d(xx, w, null, { padding: 'same', groups: 3 }).mul(probe).sum(), x, { what: 'd/dx depthwise' });
  gradcheck((ww) => F.conv2d(x, ww, null, { padding: 'same', groups: 3 }).mul(probe).sum(), w, { what: 'd/dw depthwise' });
}));

test('batchNorm gradient in training mode (input, weight, bias)', () => tidy(() => {
  const x = randn([4, 3, 2, 2], f64);
  const g = rand([3], f64).add(0.5);
  const b = randn([3], f64);
  const probe = randn([4, 3, 2, 2], f64);
  const bn = (xx: Tensor, gg: Tensor, bb: Tensor): Tensor => F.batchNorm(xx, { weight: gg, bias: bb, training: true, eps: 1e-5 }).mul(probe).sum();
  gradcheck((xx) => bn(xx, g, b), x, { what: 'd/dx batchNorm', atol: 1e-5 });
  gradcheck((gg) => bn(x, gg, b), g, { what: 'd/dgamma batchNorm' });
  gradcheck((bb) => bn(x, g, bb), b, { what: 'd/dbeta batchNorm' });
}));

test('linear gradient', () => tidy(() => {
  const x = randn([3, 4], f64);
  const w = randn([2, 4], f64);
  const b = randn([2], f64);
  const probe = randn([3, 2], f64);
  gradcheck((xx) => F.linear(xx, w, b).mul(probe).sum(), x, { what: 'd/dx linear' });
  gradcheck((ww) => F.linear(x, ww, b).mul(probe).sum(), w, { what: 'd/dw linear' });
}));

test('normalize gradient (per row)', () => tidy(() => {
  const x = randn([3, 5], f64);
  const probe = randn([3, 5], f64);
  gradcheck((xx) => F.normalize(xx).mul(probe).sum(), x, { what: 'd/dx normalize' });
}));

test('crossEntropy gradient, with label smoothing and class weights', () => tidy(() => {
  const logits = randn([4, 5], f64);
  const target = tensor([1, 0, 4, 2], { dtype: 'int64' });
  const weight = rand([5], f64).add(0.5);
  gradcheck((z) => F.crossEntropy(z, target), logits, { what: 'd/dlogits crossEntropy' });
  gradcheck((z) => F.crossEntropy(z, target, { weight, labelSmoothing: 0.1 }), logits, { what: 'd/dlogits weighted smoothed crossEntropy' });
}));

test('relu6_ in place: the out-of-place gradient, boundaries included, and the input overwritten', () => tidy(() => {
  const x = tensor([-1, 0, 1e-7, 0.5, 3, 5.9999, 6, 7, Number.NaN], f64);
  const probe = randn([9], f64);
  const ref = x.clone().requiresGrad_();
  F.relu6(ref).mul(probe).sum().backward();
  const leaf = x.clone().requiresGrad_();
  const y = leaf.mul(1);
  const out = y.relu6_();
  assert.equal(out, y);
  out.mul(probe).sum().backward();
  assert.deepEqual(y.detach().toArray(), F.relu6(x).toArray());
  assert.deepEqual(leaf.grad!.toArray(), ref.grad!.toArray());
  const r = randn([2, 3, 4, 4], f64).mul(4);
  gradcheck((xx) => xx.mul(1).relu6_().mul(r).sum(), r.clone(), { what: 'd/dx relu6_' });
  assert.throws(() => randn([3]).requiresGrad_().relu6_(), /relu6_: a leaf Variable that requires grad has been used in an in-place operation/);
}));

// Tensor ops against plain-JS recomputation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arange, cat, F, manualSeed, randn, stack, tensor, tidy, where } from '../../src/index.js';
import { assertClose } from '../helpers.js';

manualSeed(3);

test('elementwise math with broadcasting matches JS', () => tidy(() => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([10, 20, 30]);
  assert.deepEqual(a.add(b).toArray(), [[11, 22, 33], [14, 25, 36]]);
  assert.deepEqual(a.sub(b, 2).toNumbers(), [1 - 20, 2 - 40, 3 - 60, 4 - 20, 5 - 40, 6 - 60]);
  assert.deepEqual(a.mul(2).toNumbers(), [2, 4, 6, 8, 10, 12]);
  assert.deepEqual(a.div(b).toNumbers(), [0.1, 0.1, 0.1, 0.4, 0.25, 0.2].map((v) => Math.fround(v)));
  assert.deepEqual(a.pow(2).toNumbers(), [1, 4, 9, 16, 25, 36]);
  assert.deepEqual(a.rsub(1).toNumbers(), [0, -1, -2, -3, -4, -5]);
  const x = tensor([0.1, 0.5, 0.9]);
  const jsX = [0.1, 0.5, 0.9].map(Math.fround);
  const fns: [string, (t: typeof x) => typeof x, (v: number) => number][] = [
    ['neg', (t) => t.neg(), (v) => -v], ['abs', (t) => t.neg().abs(), Math.abs], ['exp', (t) => t.exp(), Math.exp],
    ['log', (t) => t.log(), Math.log], ['sqrt', (t) => t.sqrt(), Math.sqrt], ['rsqrt', (t) => t.rsqrt(), (v) => 1 / Math.sqrt(v)],
    ['cos', (t) => t.cos(), Math.cos], ['sin', (t) => t.sin(), Math.sin], ['acos', (t) => t.acos(), Math.acos],
    ['tanh', (t) => t.tanh(), Math.tanh], ['sigmoid', (t) => t.sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
  ];
  for (const [name, op, js] of fns) assertClose(op(x), jsX.map(js), { what: name });
  assert.deepEqual(tensor([-2, 0.5, 3]).clamp(0, 1).toNumbers(), [0, 0.5, 1]);
}));

test('comparisons, logic, where and maskedFill', () => tidy(() => {
  const a = tensor([1, 2, 3, 4]);
  assert.deepEqual(a.gt(2).toArray(), [false, false, true, true]);
  assert.deepEqual(a.le(tensor([1, 1, 5, 5])).toArray(), [true, false, true, true]);
  assert.deepEqual(a.eq(2).logicalOr(a.eq(4)).toArray(), [false, true, false, true]);
  assert.deepEqual(a.gt(1).logicalAnd(a.lt(4)).logicalNot().toArray(), [true, false, false, true]);
  assert.deepEqual(where(a.gt(2), a, a.neg()).toNumbers(), [-1, -2, 3, 4]);
  assert.deepEqual(a.maskedFill(a.eq(3), -1).toNumbers(), [1, 2, -1, 4]);
}));

test('reductions over dims with keepdim', () => tidy(() => {
  const a = tensor([[1, 5, 3], [4, 2, 6]]);
  assert.deepEqual(a.sum().toNumbers(), [21]);
  assert.deepEqual(a.sum(0).toNumbers(), [5, 7, 9]);
  assert.deepEqual(a.sum(1, true).shape, [2, 1]);
  assert.deepEqual(a.mean([0, 1]).toNumbers(), [3.5]);
  assert.deepEqual(a.max(1).toNumbers(), [5, 6]);
  assert.deepEqual(a.min(0).toNumbers(), [1, 2, 3]);
  assert.deepEqual(a.argmax(1).toNumbers(), [1, 2]);
  assert.deepEqual(a.argmin().toNumbers(), [0]);
  const m = a.maxWithIndices(0);
  assert.deepEqual([m.values.toNumbers(), m.indices.toNumbers()], [[4, 5, 6], [1, 0, 1]]);
  assertClose(a.norm(2, 1), [Math.hypot(1, 5, 3), Math.hypot(4, 2, 6)]);
  assertClose(a.var(1), [4, 4]);
  assertClose(a.var(1, { correction: 0 }), [8 / 3, 8 / 3]);
  assertClose(a.std(0), [Math.SQRT2 * 1.5, Math.SQRT2 * 1.5, Math.SQRT2 * 1.5]);
  assertClose(a.logsumexp(1), [Math.log(Math.exp(1) + Math.exp(5) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(2) + Math.exp(6))]);
  assert.equal(a.median().item(), 3);
  assert.deepEqual(a.gt(5).any().toArray(), true);
  assert.deepEqual(a.gt(0).all(1).toArray(), [true, true]);
}));

test('matmul, mm, bmm, outer against JS', () => tidy(() => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([[1, 0], [0, 1], [2, 2]]);
  assert.deepEqual(a.matmul(b).toArray(), [[7, 8], [16, 17]]);
  assert.deepEqual(a.mm(b).toArray(), [[7, 8], [16, 17]]);
  assert.deepEqual(stack([a, a]).bmm(stack([b, b])).shape, [2, 2, 2]);
  assert.deepEqual(tensor([1, 2]).outer(tensor([3, 4, 5])).toArray(), [[3, 4, 5], [6, 8, 10]]);
  assert.throws(() => tensor(new Float32Array(6), { shape: [2, 3] }).matmul(tensor(new Float32Array(20), { shape: [4, 5] })),
    /matmul: shapes \[2,3\] and \[4,5\] cannot be multiplied/);
}));

test('topk and sort', () => tidy(() => {
  const a = tensor([3, 1, 4, 1, 5, 9, 2, 6]);
  const t = a.topk(3);
  assert.deepEqual(t.values.toNumbers(), [9, 6, 5]);
  assert.deepEqual(t.indices.toNumbers(), [5, 7, 4]);
  assert.deepEqual(a.topk(2, 0, false).values.toNumbers(), [1, 1]);
  assert.deepEqual(a.sort().values.toNumbers(), [1, 1, 2, 3, 4, 5, 6, 9]);
  assert.deepEqual(a.argsort(0, true).toNumbers().slice(0, 2), [5, 7]);
}));

test('shape ops: reshape, permute, transpose, narrow, slice, indexing, joins and splits', () => tidy(() => {
  const a = arange(0, 24, 1, { dtype: 'float32' }).reshape(2, 3, 4);
  assert.deepEqual(a.shape, [2, 3, 4]);
  assert.deepEqual(a.reshape(-1, 4).shape, [6, 4]);
  assert.throws(() => a.reshape(5, 5), /reshape: Expected a shape with 24 elements/);
  assert.deepEqual(a.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.equal(a.permute(2, 0, 1).contiguous().toNumbers()[1], 4);
  assert.deepEqual(a.transpose(0, 2).shape, [4, 3, 2]);
  assert.deepEqual(a.narrow(2, 1, 2).select(0, 0).select(0, 0).toNumbers(), [1, 2]);
  assert.deepEqual(a.slice(2, 0, 4, 2).select(0, 1).select(0, 2).toNumbers(), [20, 22]);
  const rows = arange(0, 6, 1, { dtype: 'float32' }).reshape(3, 2);
  assert.deepEqual(rows.indexSelect(0, tensor([2, 0], { dtype: 'int64' })).toArray(), [[4, 5], [0, 1]]);
  assert.deepEqual(rows.gather(1, tensor([[1], [0], [1]], { dtype: 'int64' })).toNumbers(), [1, 2, 5]);
  assert.deepEqual(rows.zero_().scatter(1, tensor([[1], [0], [1]], { dtype: 'int64' }), 1).toArray(), [[0, 1], [1, 0], [0, 1]]);
  const x = tensor([1, 2, 3]);
  assert.deepEqual(cat([x, x]).toNumbers(), [1, 2, 3, 1, 2, 3]);
  assert.deepEqual(stack([x, x], 1).shape, [3, 2]);
  assert.deepEqual(arange(7).split(3).map((t) => t.toNumbers()), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(arange(7).split([2, 5]).map((t) => t.shape[0]), [2, 5]);
  assert.deepEqual(arange(6).chunk(3).length, 3);
  assert.deepEqual(x.unsqueeze(0).expand(2, 3).toArray(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(x.repeat(2).toNumbers(), [1, 2, 3, 1, 2, 3]);
  assert.deepEqual(x.unsqueeze(1).unsqueeze(0).squeeze().shape, [3]);
  assert.deepEqual(a.flatten(1).shape, [2, 12]);
  assert.deepEqual(F.oneHot(tensor([0, 2], { dtype: 'int64' }), 3).toArray(), [[1, 0, 0], [0, 0, 1]]);
}));

test('channels-last layout keeps values and reports its strides', () => tidy(() => {
  const x = randn([2, 3, 4, 5]);
  const cl = x.contiguous('channels_last');
  assert.ok(cl.isContiguous('channels_last'));
  assert.ok(!cl.isContiguous());
  assert.deepEqual(cl.strides, [60, 1, 15, 3]);
  assert.deepEqual(cl.toNumbers(), x.toNumbers());
  // An NHWC buffer viewed as NCHW by permute is channels-last without a copy.
  const nhwc = randn([2, 4, 5, 3]).permute(0, 3, 1, 2);
  assert.ok(nhwc.isContiguous('channels_last'));
}));

test('L2 normalisation is per row, never over the batch', () => tidy(() => {
  const x = tensor([[3, 4], [0, 10]]);
  assert.deepEqual(F.normalize(x).toArray(), [[0.6, 0.8].map(Math.fround), [0, 1]]);
  assertClose(F.pairwiseCosine(x, x), [1, 0.8, 0.8, 1]);
}));

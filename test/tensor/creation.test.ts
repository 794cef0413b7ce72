// Creating tensors and reading their data back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arange, eye, full, getRngState, linspace, manualSeed, ones, rand, randint, randn, randperm, setRngState,
  tensor, tidy, zeros, scalar,
} from '../../src/index.js';

test('every dtype round-trips through TypedArrays', () => tidy(() => {
  assert.deepEqual(Array.from(tensor(new Float32Array([1.5, -2])).dataSync() as ArrayLike<unknown>), [1.5, -2]);
  assert.deepEqual(Array.from(tensor(new Float64Array([1e-300, 3])).dataSync() as ArrayLike<unknown>), [1e-300, 3]);
  assert.deepEqual(Array.from(tensor(new Int32Array([7, -8])).dataSync() as ArrayLike<unknown>), [7, -8]);
  assert.deepEqual(Array.from(tensor(new BigInt64Array([2n ** 40n])).dataSync() as ArrayLike<unknown>), [2n ** 40n]);
  assert.deepEqual(Array.from(tensor(new Uint8Array([0, 255])).dataSync() as ArrayLike<unknown>), [0, 255]);
  const b = tensor([true, false, true]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [true, false, true]);
  const h = tensor([1, 2.5], { dtype: 'float16' });
  assert.equal(h.dtype, 'float16');
  assert.deepEqual(h.to('float32').toNumbers(), [1, 2.5]);
}));

test('nested arrays infer the shape; explicit shapes reshape TypedArrays', () => tidy(() => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  const u = tensor(new Float32Array(24), { shape: [2, 3, 4] });
  assert.deepEqual(u.shape, [2, 3, 4]);
  assert.throws(() => tensor([[1, 2], [3]]), /Expected a ragged-free nested array/);
  assert.throws(() => tensor(new Float32Array(5), { shape: [2, 3] }), /fromData: data holds 20 bytes but shape needs 24/);
  assert.equal(scalar(3).item(), 3);
  assert.deepEqual(scalar(3).shape, []);
}));

test('constant fills, ranges and identity', () => tidy(() => {
  assert.deepEqual(zeros([2, 2]).toNumbers(), [0, 0, 0, 0]);
  assert.deepEqual(ones([3], { dtype: 'int32' }).dataSync(), new Int32Array([1, 1, 1]));
  assert.deepEqual(full([2], 7.5).toNumbers(), [7.5, 7.5]);
  const r = arange(5);
  assert.equal(r.dtype, 'int64');
  assert.deepEqual(r.toNumbers(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(1, 2, 0.25).toNumbers(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(linspace(0, 1, 5).toNumbers(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  assert.throws(() => zeros([2, -1]), /Expected an array of non-negative integers for shape but received \[2, -1\]/);
}));

test('random draws are reproducible from a seed and from a saved generator state', () => tidy(() => {
  manualSeed(42);
  const a = randn([5]).toNumbers();
  manualSeed(42);
  assert.deepEqual(randn([5]).toNumbers(), a);
  const state = getRngState();
  const b = rand([4]).toNumbers();
  setRngState(state);
  assert.deepEqual(rand([4]).toNumbers(), b);
  const u = rand([1000]).toNumbers();
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const ints = randint(3, 7, [1000]).toNumbers();
  assert.ok(ints.every((v) => v >= 3 && v < 7) && new Set(ints).size === 4);
  assert.deepEqual(randperm(10).toNumbers().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const n = randn([20000]);
  assert.ok(Math.abs(n.mean().item()) < 0.03 && Math.abs(n.std().item() - 1) < 0.03);
}));

test('async data matches sync data', async () => {
  const t = arange(0, 6, 1, { dtype: 'float32' });
  assert.deepEqual(Array.from(await t.data() as ArrayLike<number>), Array.from(t.dataSync() as ArrayLike<number>));
  t.dispose();
});

// Bad input becomes a JS exception naming the op and the cause; nothing aborts the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, F, randn, tensor, tidy, zeros, ones, cudaAvailable } from '../../src/index.js';
import { native } from '../../src/binding/native.js';
import { TorchError } from '../../src/errors.js';

test('native failures are TorchErrors that name the op', () => tidy(() => {
  assert.throws(() => native.mm(zeros([2, 3]).handle, zeros([4, 5]).handle), /^TorchError: mm: .*2x3.*4x5/);
  assert.throws(() => zeros([3]).indexSelect(0, tensor([5], { dtype: 'int64' })), /^TorchError: indexSelect: .*out of range/i);
  assert.throws(() => cat([zeros([2, 3]), zeros([2, 4])]), /^TorchError: cat: Sizes of tensors must match/);
  assert.throws(() => zeros([2, 3]).view(3, 3), /^TorchError: view: shape '\[3, 3\]' is invalid for input of size 6/);
  assert.throws(() => zeros([3]).indexSelect(0, tensor([5], { dtype: 'int64' })), (e: unknown) => {
    assert.ok(e instanceof TorchError && e instanceof Error);
    assert.equal(e.op, 'indexSelect');
    assert.match(e.reason, /out of range/i);
    assert.equal(e.message, `indexSelect: ${e.reason}`);
    assert.ok(e.cause instanceof Error, 'the addon\'s own Error is kept as the cause');
    assert.match(e.stack ?? '', /errors\.test\.js/, 'the stack points at the calling JS');
    return true;
  });
  assert.throws(() => zeros([2]).backward(), /backward: tensor does not require grad/);
  assert.throws(() => native.addScalar(zeros([2]).handle, 'x' as never), /addScalar: argument 1 is not a number/);
  assert.throws(() => native.relu({} as never), /relu: argument 0 is not a tensor handle/);
}));

test('arguments are checked in TS with what was expected and what was received', () => tidy(() => {
  const x = randn([1, 3, 8, 8]);
  assert.throws(() => F.conv2d(x, randn([4, 2, 3, 3])), /conv2d: Expected input with 2 channels \(weight \[4,2,3,3\], groups 1\) but received shape \[1,3,8,8\]/);
  assert.throws(() => F.conv2d(randn([3, 8, 8]), randn([4, 3, 3, 3])), /conv2d: Expected a 4-d input but received shape \[3,8,8\]/);
  assert.throws(() => F.crossEntropy(randn([4, 3]), tensor([0, 1, 2, 0], { dtype: 'int32' })), /Expected int64 class indices/);
  assert.throws(() => F.crossEntropy(randn([4, 3]), tensor([0, 1], { dtype: 'int64' })), /Expected 4 targets/);
  assert.throws(() => zeros([2, 2]).sum(2), /Expected an integer between -2 and 1 for dim of sum on a 2-d tensor but received 2/);
  assert.throws(() => ones([2]).to('float8' as never), /Expected one of float32, .* for dtype but received "float8"/);
  assert.throws(() => F.dropout(x, 1.5, true), /Expected a probability between 0 and 1/);
  assert.throws(() => randn([5]).topk(6), /Expected an integer between 0 and 5 for k of topk/);
}));

test('an async entry\'s failure is a TorchError too', async () => {
  const t = zeros([2]);
  const handle = t.handle;
  t.dispose();
  // The addon checks the handle before queueing the copy, so this one fails at the call.
  await assert.rejects(async () => native.toDataAsync(handle), (e: unknown) => e instanceof TorchError && e.op === 'toDataAsync' && /already disposed/.test(e.reason));
});

test('argument checks: TypeError for a wrong kind of value, RangeError for a bad value of the right kind', () => tidy(() => {
  assert.throws(() => zeros([2, 2]).sum('1' as never), TypeError);
  assert.throws(() => zeros([2, 2]).sum(2), RangeError);
  assert.throws(() => zeros([2, 2]).sum(0.5), RangeError);
  assert.throws(() => zeros(['2'] as never), TypeError);
  assert.throws(() => zeros([-1]), RangeError);
}));

test('cuda without a CUDA libtorch is a clear error', { skip: cudaAvailable() }, () => tidy(() => {
  assert.throws(() => zeros([2], { device: 'cuda' }), /Device 'cuda' was requested but the linked libtorch .* has no CUDA/);
  assert.throws(() => ones([1]).to('cuda:0'), /has no CUDA/);
}));

test('NaN propagates as data rather than crashing', () => tidy(() => {
  const t = tensor([0, 1]).log().mul(0);
  assert.ok(Number.isNaN(t.toNumbers()[0]));
  assert.deepEqual(t.isnan().toArray(), [true, false]);
}));

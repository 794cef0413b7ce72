// Explicit memory: tidy, keep, dispose, the live count, and a long training loop that must not leak.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Adam, dispose, F, keep, liveTensors, manualSeed, ones, randint, randn, tensor, tidy, zeros } from '../../src/index.js';

test('tidy disposes what it made, keeps what it returns and what was kept', () => {
  const base = liveTensors();
  let kept!: ReturnType<typeof zeros>;
  const out = tidy(() => {
    const a = zeros([2]);
    const b = a.add(1);
    kept = keep(b.mul(3));
    return { sum: b.add(a), list: [b.mul(2)] };
  });
  assert.equal(liveTensors(), base + 3);
  assert.deepEqual(out.sum.toNumbers(), [1, 1]);
  assert.deepEqual(kept.toNumbers(), [3, 3]);
  dispose([out, kept]);
  assert.equal(liveTensors(), base);
});

test('nested tidy moves returned tensors to the outer scope', () => {
  const base = liveTensors();
  tidy(() => {
    const inner = tidy(() => zeros([1]).add(5));
    assert.equal(liveTensors(), base + 1);
    assert.equal(inner.item(), 5);
  });
  assert.equal(liveTensors(), base);
});

test('tidy cleans up when fn throws, and rejects async functions', () => {
  const base = liveTensors();
  assert.throws(() => tidy(() => { zeros([3]); throw new Error('boom'); }), /boom/);
  assert.equal(liveTensors(), base);
  assert.throws(() => tidy((async () => zeros([1])) as never), /Expected a synchronous function for tidy/);
  assert.equal(liveTensors(), base);
});

test('dispose is safe twice; a disposed tensor gives a clear error', () => {
  const t = tensor([1, 2]);
  t.dispose();
  t.dispose();
  assert.ok(t.isDisposed);
  assert.throws(() => t.add(1), /Tensor is disposed/);
});

test('a 1,000-step training loop returns the live count to baseline and keeps RSS flat', () => {
  manualSeed(0);
  const base = liveTensors();
  const { params, x, y } = tidy(() => ({
    params: [
      randn([8, 3, 3, 3]).mul(0.2), zeros([8]), randn([16, 8, 3, 3]).mul(0.1), zeros([16]), randn([4, 16]).mul(0.1), zeros([4]),
    ].map((p) => p.requiresGrad_()),
    x: randn([16, 3, 12, 12]).contiguous('channels_last'),
    y: randint(0, 4, [16]),
  }));
  const opt = new Adam(params, { lr: 1e-3, amsgrad: true });
  const [w1, b1, w2, b2, w3, b3] = params;
  const step = (): number => tidy(() => {
    opt.zeroGrad();
    let h = F.conv2d(x, w1, b1, { padding: 1 }).relu();
    h = F.maxPool2d(h, 2);
    h = F.conv2d(h, w2, b2, { padding: 1 }).relu();
    const logits = F.linear(h.mean([2, 3]), w3, b3);
    const loss = F.crossEntropy(logits, y);
    loss.backward();
    opt.step();
    return loss.item();
  });
  let rssAfterWarmup = 0;
  let first = 0;
  let last = 0;
  for (let i = 0; i < 1000; i++) {
    last = step();
    if (i === 0) first = last;
    if (i === 100) rssAfterWarmup = process.memoryUsage().rss;
    assert.equal(liveTensors(), base + params.length + 2, `live tensors at step ${i}`);
  }
  const growth = (process.memoryUsage().rss - rssAfterWarmup) / rssAfterWarmup;
  assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}% after warm-up`);
  assert.ok(last < first, `loss fell from ${first} to ${last}`);
  opt.dispose();
  dispose([params, x, y]);
  assert.equal(liveTensors(), base);
});

// Runs a full GC and lets FinalizationRegistry callbacks (posted as tasks) run, until cond holds.
async function collectGarbageUntil(cond: () => boolean): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 50 && !cond(); i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('tensors outside every scope are freed by GC when dropped without dispose()', async () => {
  const base = liveTensors();
  (() => {
    for (let i = 0; i < 50; i++) zeros([4]).add(1); // made outside any tidy
    keep(tidy(() => zeros([2]).add(1))); // kept: leaves its scope
    tidy(() => zeros([3]).mul(2)); // returned from the outermost tidy
  })();
  assert.ok(liveTensors() > base);
  await collectGarbageUntil(() => liveTensors() === base);
  assert.equal(liveTensors(), base);
});

test('a disposed tensor whose handle was reused is not freed again by the GC safety net', async () => {
  const base = liveTensors();
  let first: ReturnType<typeof zeros> | null = zeros([1]);
  await new Promise((resolve) => setImmediate(resolve)); // its safety-net entry is armed by now
  first.dispose();
  const second = ones([1]); // takes the slot the first one released
  first = null;
  void first;
  await collectGarbageUntil(() => false);
  assert.equal(liveTensors(), base + 1);
  assert.equal(second.item(), 1);
  second.dispose();
  assert.equal(liveTensors(), base);
});

test('a long loop that disposes as it goes inside one tidy keeps the count exact', () => {
  const base = liveTensors();
  const a = ones([3]);
  tidy(() => {
    let acc = a.clone();
    for (let i = 0; i < 5000; i++) {
      const next = acc.add(a);
      acc.dispose();
      acc = next;
      if (i % 1000 === 0) assert.equal(liveTensors(), base + 2);
    }
    assert.deepEqual(acc.toNumbers(), [5001, 5001, 5001]);
  });
  assert.equal(liveTensors(), base + 1);
  a.dispose();
});

test('replaceWith_ moves the handle: the consumed tensor is disposed, the count is unchanged', () => {
  const base = liveTensors();
  const target = keep(tidy(() => zeros([2])));
  tidy(() => {
    const source = ones([2]).mul(3);
    target.replaceWith_(source);
    assert.ok(source.isDisposed);
  });
  assert.deepEqual(target.toNumbers(), [3, 3]);
  assert.equal(liveTensors(), base + 1);
  target.dispose();
  assert.equal(liveTensors(), base);
});

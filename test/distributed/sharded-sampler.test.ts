// The shards of every epoch are disjoint, cover the global epoch exactly, keep the global batch,
// and come from the same seeded permutation as one process would use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShuffledBatchSampler } from '../../src/data/loading/batch-sampler.js';
import { ShardedBatchSampler } from '../../src/distributed/sharded-sampler.js';
import { planBuckets } from '../../src/distributed/buckets.js';
import { tensor, tidy } from '../../src/index.js';

for (const [size, batchSize, worldSize, dropLast] of [[1000, 128, 2, true], [1000, 128, 3, false], [11, 4, 3, false]] as const) {
  test(`${size} images, batch ${batchSize}, ${worldSize} ranks, dropLast ${dropLast}: disjoint shards covering each epoch`, () => {
    const inner = new ShuffledBatchSampler(size, { batchSize, dropLast, seed: 7 });
    for (const epoch of [0, 1, 5]) {
      const global = inner.batches(epoch);
      const shards = Array.from({ length: worldSize }, (_, r) => new ShardedBatchSampler(inner, r, worldSize).batches(epoch));
      assert.ok(shards.every((s) => s.length === global.length), 'every rank takes the same number of steps');
      global.forEach((batch, b) => {
        const parts = shards.map((s) => [...s[b]]);
        assert.deepEqual(parts.flat(), [...batch], `batch ${b}: the ranks' slices, in rank order, are the global batch`);
        const sizes = parts.map((p) => p.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced shards ${sizes}`);
      });
      const seen = shards.flatMap((s) => s.flatMap((b) => [...b]));
      assert.equal(new Set(seen).size, seen.length, 'no image is read by two ranks');
      assert.equal(seen.length, global.reduce((n, b) => n + b.length, 0), 'together they cover the epoch');
    }
    assert.notDeepEqual([...inner.batches(0)[0]], [...inner.batches(1)[0]], 'a new permutation every epoch');
  });
}

test('a global batch smaller than the number of ranks is refused with the reason', () => {
  const inner = new ShuffledBatchSampler(10, { batchSize: 4, dropLast: false });
  assert.throws(() => new ShardedBatchSampler(inner, 0, 3).batches(0), /Global batch 2 of epoch 0 has 2 images, fewer than the 3 ranks/);
  assert.throws(() => new ShardedBatchSampler(inner, 3, 3), /Expected a rank between 0 and 2 but received 3/);
});

test('buckets hold one dtype and at most the byte budget, in order', () => {
  tidy(() => {
    const ts = [tensor([1, 2, 3]), tensor([1, 2], { dtype: 'int64' }), tensor([4]), tensor(new Float32Array(10)), tensor([5, 6])];
    const buckets = planBuckets(ts, 16);
    assert.deepEqual(buckets.map((b) => b.map((t) => ts.indexOf(t))), [[0, 2], [1], [3], [4]]);
  });
});

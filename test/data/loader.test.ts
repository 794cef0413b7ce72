import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Batch } from '../../src/data/loading/batch-assembly.js';
import { ShuffledBatchSampler } from '../../src/data/loading/batch-sampler.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loading/loader.js';
import { MPerClassSampler } from '../../src/data/loading/m-per-class-sampler.js';
import { CIFAR10_AUGMENT } from '../../src/data/loading/transforms.js';
import { makeTempDir } from './fixtures.js';

/** 4x4 RGB images whose every byte is the image index, so batches can be traced. */
function traceable(count: number, classCount: number): ImageDataset {
  const images = new Uint8Array(count * 48);
  for (let i = 0; i < count; i++) images.fill(i, i * 48, (i + 1) * 48);
  const labels = Int32Array.from({ length: count }, (_, i) => i % classCount);
  return { images, labels, height: 4, width: 4, channels: 3, classes: Array.from({ length: classCount }, (_, c) => `c${c}`) };
}

async function collect(iterable: AsyncIterable<Batch>): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

describe('ShuffledBatchSampler', () => {
  it('covers every index once per epoch, reshuffled per epoch, reproducibly', () => {
    const sampler = new ShuffledBatchSampler(10, { batchSize: 4, seed: 3 });
    const epoch0 = sampler.batches(0);
    assert.deepEqual(epoch0.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual(epoch0.flatMap((b) => [...b]).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(sampler.batches(0), epoch0);
    assert.notDeepEqual(sampler.batches(1), epoch0);
    assert.deepEqual(new ShuffledBatchSampler(10, { batchSize: 4, dropLast: true }).batches(0).map((b) => b.length), [4, 4]);
    assert.deepEqual([...new ShuffledBatchSampler(3, { batchSize: 2, shuffle: false }).batches(5)[0]], [0, 1]);
    assert.throws(() => new ShuffledBatchSampler(10, { batchSize: 0 }), /Expected an integer ≥ 1 for batchSize but received 0/);
  });
});

describe('MPerClassSampler', () => {
  const labels = Int32Array.from({ length: 60 }, (_, i) => (i < 3 ? 5 : i % 5));

  it('puts m images of batchSize/m distinct classes in every batch', () => {
    const sampler = new MPerClassSampler(labels, { m: 4, batchSize: 12, seed: 1 });
    assert.equal(sampler.batchesPerEpoch, 5);
    for (const batch of sampler.batches(0)) {
      const perClass = new Map<number, Set<number>>();
      for (const index of batch) {
        const set = perClass.get(labels[index]) ?? new Set();
        set.add(index);
        perClass.set(labels[index], set);
      }
      assert.equal(perClass.size, 3);
      for (const [label, indices] of perClass) {
        // Class 5 has only 3 images, so it is drawn with replacement; others are distinct.
        if (label !== 5) assert.equal(indices.size, 4);
      }
      assert.equal(batch.length, 12);
    }
    assert.deepEqual(sampler.batches(2), new MPerClassSampler(labels, { m: 4, batchSize: 12, seed: 1 }).batches(2));
    assert.notDeepEqual(sampler.batches(2), sampler.batches(3));
  });

  it('checks m and batchSize', () => {
    assert.throws(() => new MPerClassSampler(labels, { m: 4, batchSize: 10 }), /multiple of m = 4 but received 10/);
    assert.throws(() => new MPerClassSampler(labels, { m: 4, batchSize: 28 }), /Expected an integer between 4 and 24 for batchSize but received 28/);
  });
});

describe('DataLoader', () => {
  const dataset = traceable(50, 5);

  it('yields batches whose labels match their images, epoch after epoch', async () => {
    const loader = new DataLoader(dataset, { batchSize: 16, seed: 9 });
    assert.equal(loader.batchesPerEpoch, 4);
    const first = await collect(loader);
    const second = await collect(loader);
    assert.deepEqual(first.map((b) => b.size), [16, 16, 16, 2]);
    for (const batch of first) {
      assert.equal(batch.images.length, batch.size * 48);
      batch.indices.forEach((index, i) => {
        assert.equal(batch.images[i * 48], index);
        assert.equal(batch.labels[i], dataset.labels[index]);
      });
    }
    assert.deepEqual(first.flatMap((b) => [...b.indices]).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepEqual(first.map((b) => [...b.indices]), second.map((b) => [...b.indices]));
  });

  it('prepares identical augmented batches in the worker and on the main thread', async () => {
    const noisy = { ...dataset, images: Uint8Array.from(dataset.images, (v, i) => (v * 31 + i) & 255) };
    const options = { batchSize: 8, seed: 4, dropLast: true, augment: { ...CIFAR10_AUGMENT, cutoutSize: 2 } };
    const inWorker = await collect(new DataLoader(noisy, { ...options, worker: true }).epoch(3));
    const onMain = await collect(new DataLoader(noisy, { ...options, worker: false }).epoch(3));
    assert.equal(inWorker.length, 6);
    assert.deepEqual(inWorker, onMain);
    const plain = await collect(new DataLoader(noisy, { ...options, augment: undefined }).epoch(3));
    assert.notDeepEqual(inWorker.map((b) => b.images), plain.map((b) => b.images));
  });

  it('stops its worker when the consumer breaks early', async () => {
    const loader = new DataLoader(dataset, { batchSize: 5 });
    for await (const batch of loader) {
      assert.equal(batch.size, 5);
      break;
    }
  });

  it('lets the process exit when an iterator is abandoned mid-epoch', () => {
    const loaderModule = new URL('../../src/data/loading/loader.js', import.meta.url).href;
    const script = `
      const { DataLoader } = await import(${JSON.stringify(loaderModule)});
      const images = new Uint8Array(40 * 12);
      const labels = new Int32Array(40);
      const iterator = new DataLoader({ images, labels, height: 2, width: 2, channels: 3, classes: ['x'] }, { batchSize: 4 }).epoch(0);
      const { value } = await iterator.next();
      console.log('got', value.size);`;
    const { dir, cleanup } = makeTempDir();
    const file = join(dir, 'abandon.mjs');
    writeFileSync(file, script);
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // otherwise the child reports to this test runner instead of running
    const result = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000, env });
    cleanup();
    assert.equal(result.signal, null, 'the child process had to be killed');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'got 4');
  });

  it('uses a sampler instead of shuffling', async () => {
    const sampler = new MPerClassSampler(dataset.labels, { m: 2, batchSize: 6, seed: 2 });
    const batches = await collect(new DataLoader(dataset, { sampler }).epoch(0));
    assert.equal(batches.length, sampler.batchesPerEpoch);
    for (const batch of batches) assert.equal(new Set(batch.labels).size, 3);
  });

  it('checks its options', () => {
    assert.throws(() => new DataLoader(dataset, {}), /Expected batchSize or a sampler/);
    assert.throws(() => new DataLoader(dataset, { batchSize: 4, seed: -1 }), /Expected an integer between 0 and 4294967295 for seed but received -1/);
  });
});

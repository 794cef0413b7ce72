import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Batch } from '../../src/data/loading/batch-assembly.js';
import { readDatasetCache, writeDatasetCache } from '../../src/data/cache/dataset-cache.js';
import { sharedBytes, type ImageDataset } from '../../src/data/dataset.js';
import { FileImageReader, imagesInRange, materializeDataset } from '../../src/data/cache/file-image-dataset.js';
import { DataLoader } from '../../src/data/loading/loader.js';
import { MPerClassSampler } from '../../src/data/loading/m-per-class-sampler.js';
import { stratifiedSubset, trainValidationSplit } from '../../src/data/splits.js';
import { DatasetCacheWriter, openDatasetCache } from '../../src/data/cache/streamed-cache.js';
import { CIFAR10_AUGMENT } from '../../src/data/loading/transforms.js';
import { makeTempDir, noiseBytes } from './fixtures.js';

const { dir, cleanup } = makeTempDir('deepmetric-stream-');
after(cleanup);

function randomDataset(count: number, seed: number): ImageDataset {
  const images = sharedBytes(count * 8 * 8 * 3);
  images.set(noiseBytes(images.length, seed));
  const labels = Int32Array.from({ length: count }, (_, i) => (i * 7) % 5);
  return { images, labels, height: 8, width: 8, channels: 3, classes: ['a', 'b', 'c', 'd', 'e'] };
}

async function collect(iterable: AsyncIterable<Batch>): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

function assertSameBatches(actual: Batch[], expected: Batch[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((batch, i) => {
    assert.deepEqual([...batch.indices], [...expected[i].indices], `batch ${i} indices`);
    assert.deepEqual([...batch.labels], [...expected[i].labels], `batch ${i} labels`);
    assert.ok(Buffer.from(batch.images).equals(Buffer.from(expected[i].images)), `batch ${i} pixels`);
  });
}

describe('file-backed datasets', () => {
  const memory = randomDataset(203, 11);
  const file = join(dir, 'd.dmcache');

  it('DatasetCacheWriter writes, in pieces, the same bytes as writeDatasetCache', async () => {
    await writeDatasetCache(file, memory, 'test');
    const streamed = join(dir, 'streamed.dmcache');
    const writer = await DatasetCacheWriter.create(streamed, { count: 203, height: 8, width: 8, channels: 3, classes: memory.classes, source: 'test' });
    for (let start = 0; start < 203; start += 50) {
      const end = Math.min(203, start + 50);
      await writer.append(memory.images.subarray(start * 192, end * 192), memory.labels.subarray(start, end));
    }
    await writer.finish();
    assert.ok(readFileSync(streamed).equals(readFileSync(file)));
    const incomplete = await DatasetCacheWriter.create(join(dir, 'short.dmcache'), { count: 3, height: 8, width: 8, channels: 3, classes: ['a'] });
    await incomplete.append(new Uint8Array(192), [0]);
    await assert.rejects(incomplete.finish(), /Expected 3 images but 1 were appended/);
  });

  it('openDatasetCache reads images by index and range like the in-memory dataset, and detects damage', async () => {
    const opened = await openDatasetCache(file);
    assert.deepEqual([...opened.labels], [...memory.labels]);
    const reader = new FileImageReader(opened);
    try {
      const picks = [5, 6, 7, 0, 202, 100];
      const expected = Buffer.concat(picks.map((i) => Buffer.from(memory.images.subarray(i * 192, (i + 1) * 192))));
      assert.ok(Buffer.from(reader.read(picks)).equals(expected));
    } finally {
      reader.close();
    }
    assert.ok(Buffer.from(imagesInRange(opened, 10, 20)).equals(Buffer.from(memory.images.subarray(1920, 3840))));
    // Subsets and splits are views over the file that read the same pixels as in-memory subsets.
    const subset = stratifiedSubset(opened, { size: 50, seed: 3 });
    assert.equal(subset.storage, 'file');
    assert.ok(Buffer.from(materializeDataset(subset).images).equals(Buffer.from(stratifiedSubset(memory, { size: 50, seed: 3 }).images)));
    const split = trainValidationSplit(opened, { validation: 0.25, seed: 1 });
    assert.ok(Buffer.from(materializeDataset(split.validation).images).equals(Buffer.from(trainValidationSplit(memory, { validation: 0.25, seed: 1 }).validation.images)));

    const damaged = join(dir, 'damaged.dmcache');
    const bytes = readFileSync(file);
    bytes[bytes.length - 500] ^= 0xff;
    writeFileSync(damaged, bytes);
    await assert.rejects(openDatasetCache(damaged), /damaged\.dmcache: corrupt dataset cache: checksum mismatch/);
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 7));
    await assert.rejects(openDatasetCache(damaged), /truncated or overwritten/);
  });

  for (const worker of [true, false]) {
    it(`DataLoader streams exactly the batches of the in-memory dataset (worker: ${worker}, with augmentation)`, async () => {
      const opened = await openDatasetCache(file);
      const options = { batchSize: 32, seed: 9, augment: { ...CIFAR10_AUGMENT, cutoutSize: 3 }, worker };
      const fromMemory = new DataLoader(memory, options);
      const fromFile = new DataLoader(opened, options);
      for (const epoch of [0, 1]) assertSameBatches(await collect(fromFile.epoch(epoch)), await collect(fromMemory.epoch(epoch)));
      const sampler = () => new MPerClassSampler(memory.labels, { m: 4, batchSize: 20, seed: 2 });
      assertSameBatches(await collect(new DataLoader(opened, { sampler: sampler(), worker }).epoch(0)), await collect(new DataLoader(memory, { sampler: sampler(), worker }).epoch(0)));
    });
  }

  it('reads back the dataset written by the streaming writer as readDatasetCache does', async () => {
    const roundTrip = await readDatasetCache(file);
    assert.ok(Buffer.from(materializeDataset(await openDatasetCache(file)).images).equals(Buffer.from(roundTrip.images)));
  });
});

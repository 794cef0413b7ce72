import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DataFileError } from '../../src/data/data-error.js';
import { cachedDataset, cacheKey, readDatasetCache, writeDatasetCache } from '../../src/data/cache/dataset-cache.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { makeTempDir, noiseBytes } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
after(cleanup);

const dataset: ImageDataset = {
  images: new Uint8Array(noiseBytes(7 * 5 * 4 * 3, 3)),
  labels: Int32Array.from([0, 2, 1, 1, 0, 2, 2]),
  height: 5,
  width: 4,
  channels: 3,
  classes: ['zéro', 'one', 'two'],
};

function sameDataset(actual: ImageDataset, expected: ImageDataset): void {
  assert.deepEqual({ ...actual, images: Buffer.from(actual.images) }, { ...expected, images: Buffer.from(expected.images) });
}

describe('dataset cache', () => {
  it('round-trips a dataset into shared memory and leaves no temporary file', async () => {
    const file = join(dir, 'roundtrip', 'data.dmcache');
    await writeDatasetCache(file, dataset, 'test source');
    const loaded = await readDatasetCache(file);
    sameDataset(loaded, dataset);
    assert.ok(loaded.images.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(readdirSync(join(dir, 'roundtrip')), ['data.dmcache']);
  });

  it('detects truncation, damaged bytes and foreign files, naming the cache file', async () => {
    const file = join(dir, 'damaged.dmcache');
    await writeDatasetCache(file, dataset);
    const size = statSync(file).size;
    truncateSync(file, size - 7);
    await assert.rejects(readDatasetCache(file), (error: Error) => error instanceof DataFileError && error.file === file && /truncated/.test(error.message));
    await writeDatasetCache(file, dataset);
    const bytes = readFileSync(file);
    bytes[size - 40] ^= 1;
    writeFileSync(file, bytes);
    await assert.rejects(readDatasetCache(file), /damaged\.dmcache: corrupt dataset cache: checksum mismatch/);
    writeFileSync(file, Buffer.alloc(100));
    await assert.rejects(readDatasetCache(file), /wrong magic bytes/);
  });

  it('rebuilds a corrupt cache instead of failing', async () => {
    const file = join(dir, 'rebuild.dmcache');
    writeFileSync(file, Buffer.from('DMCACHE1 but then garbage that is long enough to read a header'));
    let builds = 0;
    const loaded = await cachedDataset(file, async () => {
      builds++;
      return dataset;
    });
    sameDataset(loaded, dataset);
    const again = await cachedDataset(file, async () => {
      builds++;
      return dataset;
    });
    sameDataset(again, dataset);
    assert.equal(builds, 1);
  });

  it('leaves nothing behind when writing fails', async () => {
    const folder = join(dir, 'fails');
    const file = join(folder, 'target.dmcache');
    mkdirSync(file, { recursive: true }); // a folder where the file should go makes the rename fail
    await assert.rejects(writeDatasetCache(file, dataset), (error: Error) => error instanceof DataFileError && error.file === file);
    assert.deepEqual(readdirSync(folder), ['target.dmcache']);
    await assert.rejects(writeDatasetCache(join(folder, 'bad.dmcache'), { ...dataset, labels: Int32Array.from([0]) }), /bad\.dmcache: 1 labels need/);
    assert.deepEqual(readdirSync(folder), ['target.dmcache']);
  });

  it('derives different keys for different sources', () => {
    assert.notEqual(cacheKey(['a', 1]), cacheKey(['a', 2]));
    assert.equal(cacheKey(['a', 1]), cacheKey(['a', 1]));
  });
});

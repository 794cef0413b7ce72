import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCifarBatches } from '../../src/data/sources/cifar10-binary.js';
import { CIFAR10_CLASSES } from '../../src/data/sources/cifar10-constants.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { DataFileError } from '../../src/data/data-error.js';
import { cifarRecords, makeTempDir, writeTar } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
after(cleanup);

const trainLabels = [[0, 1, 2], [3, 4], [5, 6], [7, 8], [9, 0, 1]];
const testLabels = [9, 8, 7, 2];
const trainBatches = trainLabels.map((labels, b) => cifarRecords(labels, b + 1));
const testBatch = cifarRecords(testLabels, 99);
const expectedTrainPixels = Buffer.concat(trainBatches.map((batch) => batch.nhwc));

function writeBatchFolder(folder: string): void {
  mkdirSync(folder, { recursive: true });
  trainBatches.forEach((batch, b) => writeFileSync(join(folder, `data_batch_${b + 1}.bin`), batch.bytes));
  writeFileSync(join(folder, 'test_batch.bin'), testBatch.bytes);
  writeFileSync(join(folder, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n'));
}

function officialArchive(): Buffer {
  return writeTar(
    [
      { path: 'cifar-10-batches-bin/', type: 'directory' },
      { path: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from(CIFAR10_CLASSES.join('\n')) },
      ...trainBatches.map((batch, b) => ({ path: `cifar-10-batches-bin/data_batch_${b + 1}.bin`, data: batch.bytes })),
      { path: 'cifar-10-batches-bin/test_batch.bin', data: testBatch.bytes },
    ],
    { gzip: true },
  );
}

describe('CIFAR-10 binary layout', () => {
  it('converts planar records to NHWC with their labels', () => {
    const dataset = parseCifarBatches([{ file: 'x.bin', bytes: testBatch.bytes }]);
    assert.deepEqual([...dataset.labels], testLabels);
    assert.deepEqual(Buffer.from(dataset.images), Buffer.from(testBatch.nhwc));
    assert.equal(dataset.height, 32);
    assert.equal(dataset.channels, 3);
    assert.deepEqual(dataset.classes, CIFAR10_CLASSES);
  });

  it('loads an extracted cifar-10-batches-bin folder (given itself or its parent)', async () => {
    const parent = join(dir, 'extracted');
    writeBatchFolder(join(parent, 'cifar-10-batches-bin'));
    for (const source of [parent, join(parent, 'cifar-10-batches-bin')]) {
      const { train, test } = await loadCifar10({ source, cacheDir: join(dir, 'cache-folder') });
      assert.deepEqual([...train.labels], trainLabels.flat());
      assert.deepEqual(Buffer.from(train.images), expectedTrainPixels);
      assert.deepEqual([...test.labels], testLabels);
    }
  });

  it('loads the official archive layout and caches the decoded splits', async () => {
    const archive = join(dir, 'cifar-copy.tar.gz');
    writeFileSync(archive, officialArchive());
    const cacheDir = join(dir, 'cache-archive');
    const test = await loadCifar10({ source: archive, cacheDir, split: 'test' });
    assert.deepEqual([...test.labels], testLabels);
    assert.deepEqual(Buffer.from(test.images), Buffer.from(testBatch.nhwc));
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('-test.dmcache')).length, 1);
    const { train } = await loadCifar10({ source: archive, cacheDir });
    assert.deepEqual(Buffer.from(train.images), expectedTrainPixels);
    assert.deepEqual(readdirSync(cacheDir).filter((f) => f.endsWith('.dmcache')).length, 2);
    assert.ok(readdirSync(cacheDir).every((f) => !f.includes('.tmp-')));
  });

  it('verifies the official MD5 of a local cifar-10-binary.tar.gz before use', async () => {
    const archive = join(dir, 'md5', 'cifar-10-binary.tar.gz');
    mkdirSync(join(dir, 'md5'));
    writeFileSync(archive, officialArchive());
    const cacheDir = join(dir, 'cache-md5');
    await assert.rejects(
      loadCifar10({ source: archive, cacheDir }),
      (error: Error) => error instanceof DataFileError && error.file === archive && /checksum mismatch/.test(error.message),
    );
    assert.deepEqual(readdirSync(join(dir, 'md5')), ['cifar-10-binary.tar.gz']);
    const { test } = await loadCifar10({ source: archive, cacheDir, md5: null });
    assert.equal(test.labels.length, testLabels.length);
  });

  it('names the batch file whose size is not a whole number of records', async () => {
    const folder = join(dir, 'bad-size');
    writeBatchFolder(folder);
    writeFileSync(join(folder, 'test_batch.bin'), testBatch.bytes.subarray(0, 3073 * 2 + 100));
    const cacheDir = join(dir, 'cache-bad-size');
    await assert.rejects(loadCifar10({ source: folder, cacheDir, split: 'test' }), (error: Error) =>
      error instanceof DataFileError && error.file === join(folder, 'test_batch.bin') && /multiple of the 3073-byte/.test(error.message));
    assert.ok(!existsSync(cacheDir) || readdirSync(cacheDir).length === 0, 'nothing written to the cache');
  });

  it('rejects an out-of-range label byte and a missing batch', async () => {
    const bad = Buffer.from(testBatch.bytes);
    bad[3073] = 12;
    assert.throws(() => parseCifarBatches([{ file: 'b.bin', bytes: bad }]), /b\.bin: record 1 has label 12/);
    const archive = join(dir, 'only-test.tar.gz');
    writeFileSync(archive, writeTar([{ path: 'cifar-10-batches-bin/test_batch.bin', data: testBatch.bytes }], { gzip: true }));
    await assert.rejects(loadCifar10({ source: archive, cacheDir: join(dir, 'cache-missing') }), /only-test\.tar\.gz: archive has no data_batch_1\.bin/);
  });

  it('reports a missing source with its path', async () => {
    const missing = join(dir, 'nowhere.tar.gz');
    await assert.rejects(loadCifar10({ source: missing, cacheDir: join(dir, 'c') }), (error: Error) => error instanceof DataFileError && error.file === missing);
  });
});

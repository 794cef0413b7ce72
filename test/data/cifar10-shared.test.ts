// Loads the real CIFAR-10 image archive shipped beside the project, when it is present.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { CIFAR10_CLASSES } from '../../src/data/sources/cifar10-constants.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { classCounts } from '../../src/data/dataset.js';
import { decodeImage } from '../../src/data/image-decode.js';
import { readTarFile } from '../../src/data/sources/tar-reader.js';
import { makeTempDir } from './fixtures.js';

const archive = resolve(process.cwd(), '../shared/datasets/cifar10-jpeg.tar.gz');
const { dir: cacheDir, cleanup } = makeTempDir('deepmetric-cifar-');
after(cleanup);

describe('CIFAR-10 from ../shared/datasets/cifar10-jpeg.tar.gz', { skip: existsSync(archive) ? false : `${archive} not present` }, () => {
  it('decodes 50,000 train and 10,000 test images, 5,000 / 1,000 per class, in CIFAR-10 label order', async () => {
    const { train, test } = await loadCifar10({ source: archive, cacheDir });
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    assert.deepEqual(test.classes, CIFAR10_CLASSES);
    assert.equal(train.labels.length, 50_000);
    assert.equal(test.labels.length, 10_000);
    assert.deepEqual(classCounts(train), new Array(10).fill(5000));
    assert.deepEqual(classCounts(test), new Array(10).fill(1000));
    assert.deepEqual([train.height, train.width, train.channels], [32, 32, 3]);
    assert.equal(train.images.length, 50_000 * 3072);

    // The first train image is train/airplane/0000.jpg and the last is truck's last one.
    assert.equal(train.labels[0], 0);
    assert.equal(train.labels[49_999], 9);
    for await (const entry of readTarFile(archive)) {
      if (entry.path !== 'train/airplane/0000.jpg') continue;
      const decoded = await decodeImage(entry.data, entry.path);
      assert.deepEqual(Buffer.from(train.images.subarray(0, 3072)), decoded.pixels);
      break;
    }
  });

  it('reads the decoded splits back from the cache', async (t) => {
    assert.equal((await readdir(cacheDir)).filter((f) => f.endsWith('.dmcache')).length, 2);
    const started = performance.now();
    const test = await loadCifar10({ source: archive, cacheDir, split: 'test' });
    assert.equal(test.labels.length, 10_000);
    assert.deepEqual(classCounts(test), new Array(10).fill(1000));
    // Not a timing assertion, just a hint in the log when the cache path regresses.
    t.diagnostic(`warm load of the test split: ${(performance.now() - started).toFixed(0)} ms`);
  });
});

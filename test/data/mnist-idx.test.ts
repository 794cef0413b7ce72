import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataFileError } from '../../src/data/data-error.js';
import { loadMnist, readIdxFile } from '../../src/data/sources/mnist-idx.js';
import { makeTempDir, noiseBytes } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
after(cleanup);

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + dims.length * 4);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + i * 4));
  return Buffer.concat([header, data]);
}

const pixels = noiseBytes(5 * 4 * 3, 7);
const labels = Uint8Array.from([3, 0, 9, 1, 3]);

describe('IDX files', () => {
  for (const gzip of [false, true]) {
    it(`loads MNIST-style images and labels (${gzip ? 'gzip' : 'raw'})`, async () => {
      const wrap = (b: Buffer) => (gzip ? gzipSync(b) : b);
      const images = join(dir, `images-${gzip}.idx3-ubyte`);
      const labelFile = join(dir, `labels-${gzip}.idx1-ubyte`);
      writeFileSync(images, wrap(idx([5, 4, 3], pixels)));
      writeFileSync(labelFile, wrap(idx([5], labels)));
      const dataset = await loadMnist({ images, labels: labelFile });
      assert.deepEqual([dataset.height, dataset.width, dataset.channels], [4, 3, 1]);
      assert.deepEqual([...dataset.labels], [...labels]);
      assert.deepEqual(Buffer.from(dataset.images), pixels);
      assert.deepEqual(dataset.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    });
  }

  it('names the label file when label and image counts differ', async () => {
    const images = join(dir, 'count-images');
    const labelFile = join(dir, 'count-labels');
    writeFileSync(images, idx([5, 4, 3], pixels));
    writeFileSync(labelFile, idx([4], labels.subarray(0, 4)));
    await assert.rejects(loadMnist({ images, labels: labelFile }), (error: Error) =>
      error instanceof DataFileError && error.file === labelFile && /holds 4 labels but .* holds 5 images/.test(error.message));
  });

  it('names truncated, corrupt-gzip and non-IDX files', async () => {
    const truncated = join(dir, 'truncated');
    writeFileSync(truncated, idx([5, 4, 3], pixels).subarray(0, 40));
    await assert.rejects(readIdxFile(truncated), /truncated: IDX dimensions 5x4x3 need 60 bytes of data but the file holds 24/);
    const badGzip = join(dir, 'bad.gz');
    writeFileSync(badGzip, gzipSync(idx([5], labels)).subarray(0, 15));
    await assert.rejects(readIdxFile(badGzip), /bad\.gz: corrupt or truncated gzip data/);
    const notIdx = join(dir, 'not-idx');
    writeFileSync(notIdx, Buffer.from('hello world'));
    await assert.rejects(readIdxFile(notIdx), /not-idx: not an IDX file/);
  });
});

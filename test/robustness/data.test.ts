// Bad data: decompression bombs (a small .tar.gz holding a huge entry, a small PNG holding a huge
// image) refused or streamed past with bounded memory, a stale decoded cache, a full cache disk,
// files that are not archives, and datasets a classifier cannot be trained on.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { badInput, runCli, tempDir } from './bad-input.js';
import { injectEnospc, tinyFilesystem } from './full-disk.js';
import { writeColourFolder, writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { compareCommand } from '../../src/cli/compare.js';
import { UsageError } from '../../src/cli/args.js';

const root = tempDir('data');
const quietStderr = async <T>(fn: () => Promise<T>): Promise<T> => {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = write;
  }
};
const trainArgs = (dataPath: string, name: string) => ['train', '--head', 'softmax', '--data', dataPath, '--cache-dir', join(root, `${name}-cache`),
  '--backbone', 'convnet', '--epochs', '1', '--batch-size', '8', '--out', join(root, `${name}-out`)];

/** A ustar header block for a regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function tarEntry(name: string, data: Buffer): Buffer {
  return Buffer.concat([tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/**
 * A .tar.gz of the images under `folder` plus one entry `bombName` of `bombBytes` zero bytes, as
 * concatenated gzip members: the zeros are one compressed MiB repeated, so the file stays small.
 */
function bombArchive(file: string, folder: string, bombName: string, bombBytes: number): void {
  const entries: Buffer[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      if (name.isDirectory()) walk(join(dir, name.name), `${rel}${name.name}/`);
      else entries.push(tarEntry(`${rel}${name.name}`, readFileSync(join(dir, name.name))));
    }
  };
  walk(folder, '');
  const mib = gzipSync(Buffer.alloc(1 << 20));
  const parts = [gzipSync(Buffer.concat([...entries, tarHeader(bombName, bombBytes)]))];
  for (let i = 0; i < bombBytes / (1 << 20); i++) parts.push(mib);
  parts.push(gzipSync(Buffer.alloc(1024)));
  writeFileSync(file, Buffer.concat(parts));
}

/** A valid 1-bit greyscale PNG of width × height black pixels: about 30 KB for 16,000². */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((Math.ceil(width / 8) + 1) * height); // filter byte 0 + packed bits per row
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

badInput('data/tar-huge-unused-entry', 'a 2 MB .tar.gz with a 1 GiB entry nobody reads is streamed past with bounded memory', async (t) => {
  const folder = join(root, 'small');
  await writeSyntheticFolder(folder, { train: 8, test: 4 }, 2);
  const archive = join(root, 'unused-bomb.tar.gz');
  bombArchive(archive, folder, 'notes/junk.bin', 1 << 30);
  assert.ok(readFileSync(archive).length < 3e6);
  const run = await runCli(trainArgs(archive, 'unused'));
  assert.equal(run.code, 0, run.stderr);
  t.diagnostic(`peak RSS ${run.peakRssMb.toFixed(0)} MB, ${run.seconds.toFixed(1)} s`);
  assert.ok(run.peakRssMb < 900, `peak RSS ${run.peakRssMb.toFixed(0)} MB while streaming past a 1 GiB entry`);
}, { timeout: 90_000 });

badInput('data/tar-huge-image-entry', 'a .tar.gz whose image entry expands to 2 GiB is refused before it is read', async (t) => {
  const folder = join(root, 'small2');
  await writeSyntheticFolder(folder, { train: 4, test: 2 }, 2);
  const archive = join(root, 'image-bomb.tar.gz');
  bombArchive(archive, folder, 'train/red/huge.png', 2 ** 31);
  const run = await runCli(trainArgs(archive, 'image-bomb'));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /image-bomb\.tar\.gz: entry train\/red\/huge\.png is 2\.0 GiB, over the limit of 512\.0 MiB for one entry/);
  t.diagnostic(`peak RSS ${run.peakRssMb.toFixed(0)} MB, ${run.seconds.toFixed(1)} s`);
  assert.ok(run.peakRssMb < 900, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
}, { timeout: 90_000 });

badInput('data/png-16k-square', 'a 30 KB PNG of 16,000 × 16,000 pixels is refused from its header, not decoded', async (t) => {
  const folder = join(root, 'png-bomb');
  await writeSyntheticFolder(folder, { train: 4, test: 2 }, 4);
  writeFileSync(join(folder, 'train', 'red', 'zz-bomb.png'), bombPng(16_000, 16_000));
  const meta = await sharp(join(folder, 'train', 'red', 'zz-bomb.png')).metadata();
  assert.equal(meta.width, 16_000, 'the generated PNG is valid');
  const run = await runCli(trainArgs(folder, 'png-bomb'));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /zz-bomb\.png: image is 16000×16000 = 256\.0 megapixels, over the limit of 40\.0 megapixels \(raise it with --max-image-pixels/);
  t.diagnostic(`peak RSS ${run.peakRssMb.toFixed(0)} MB, ${run.seconds.toFixed(1)} s`);
  assert.ok(run.peakRssMb < 900, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
});

badInput('data/png-over-custom-limit', '--max-image-pixels 500 refuses a 32×32 image and names the flag', async () => {
  const folder = join(root, 'small-limit');
  await writeSyntheticFolder(folder, { train: 2, test: 1 }, 5);
  await assert.rejects(loadCifar10({ source: folder, cacheDir: join(root, 'limit-cache'), maxImagePixels: 500 }), /image is 32×32 = 0\.0 megapixels, over the limit of 0\.0 megapixels \(raise it with --max-image-pixels/);
});

badInput('data/stale-image-folder-cache', 'an image overwritten in place is decoded again, not served from the old cache', async () => {
  const folder = join(root, 'stale');
  const cacheDir = join(root, 'stale-cache');
  await writeSyntheticFolder(folder, { train: 3, test: 2 }, 6);
  const before = await loadCifar10({ source: folder, cacheDir, split: 'train' });
  const file = join(folder, 'train', 'red', '0.png');
  const white = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 255, b: 255 } } }).png().toBuffer();
  const classFolder = join(folder, 'train', 'red');
  const folderTime = fs.statSync(classFolder).mtimeMs;
  writeFileSync(file, white); // in place: the folder's mtime does not change
  assert.equal(fs.statSync(classFolder).mtimeMs, folderTime);
  const after = await loadCifar10({ source: folder, cacheDir, split: 'train' });
  const index = after.classes.indexOf('red');
  const first = after.labels.indexOf(index);
  const pixels = after.images.subarray(first * 3072, first * 3072 + 3072);
  assert.ok(pixels.every((v) => v === 255), 'the new white image is served');
  assert.notDeepEqual(before.images.subarray(first * 3072, first * 3072 + 3072), pixels);
});

badInput('data/cache-disk-full', 'a full cache disk is a warning; the dataset is used from memory', async (t) => {
  const folder = join(root, 'enospc');
  await writeSyntheticFolder(folder, { train: 8, test: 4 }, 8);
  const tiny = tinyFilesystem(join(root, 'tiny'), 16);
  const cacheDir = tiny?.path ?? join(root, 'enospc-cache');
  const restore = tiny ? () => {} : injectEnospc('.dmcache');
  t.diagnostic(tiny ? 'ENOSPC from a 16 KiB tmpfs' : 'ENOSPC injected into the cache writes');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const { train, test } = await loadCifar10({ source: folder, cacheDir });
    assert.equal(train.labels.length, 24);
    assert.equal(test.labels.length, 12);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => /cannot write dataset cache \(.*ENOSPC.*\); continuing with the dataset in memory/.test(w)), warnings.join('\n'));
    assert.deepEqual(readdirSync(cacheDir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  } finally {
    process.removeListener('warning', onWarning);
    restore();
    tiny?.dispose();
  }
});

badInput('data/cache-disk-full-decoding', 'a cache disk that fills while images are decoded into it: a warning, then the dataset from memory', async (t) => {
  const folder = join(root, 'enospc');
  await writeSyntheticFolder(folder, { train: 8, test: 4 }, 8);
  const tiny = tinyFilesystem(join(root, 'tiny2'), 16);
  const cacheDir = tiny?.path ?? join(root, 'enospc-cache2');
  const restore = tiny ? () => {} : injectEnospc('.dmcache');
  t.diagnostic(tiny ? 'ENOSPC from a 16 KiB tmpfs' : 'ENOSPC injected into the cache writes');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const loaded = await loadDataset({ source: folder, cacheDir, imageSize: 16 });
    assert.equal(loaded.train.labels.length, 24);
    assert.equal(loaded.test.labels.length, 12);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => /cannot (write|create) dataset cache \(.*ENOSPC.*\); decoding into memory instead/.test(w)), warnings.join('\n'));
    assert.deepEqual(readdirSync(cacheDir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  } finally {
    process.removeListener('warning', onWarning);
    restore();
    tiny?.dispose();
  }
});

badInput('data/text-file-as-data', 'a text file given as --data is "not a tar archive", not "truncated"', async () => {
  const file = join(root, 'notes.txt');
  writeFileSync(file, 'these are my notes\n');
  await assert.rejects(loadCifar10({ source: file, cacheDir: join(root, 'txt-cache') }), /notes\.txt: not a tar or tar\.gz archive: it does not start with a tar header/);
  const gz = join(root, 'notes.txt.gz');
  writeFileSync(gz, gzipSync(Buffer.alloc(2000, 'text ')));
  await assert.rejects(loadCifar10({ source: gz, cacheDir: join(root, 'txt-cache') }), /notes\.txt\.gz: not a tar or tar\.gz archive/);
});

badInput('data/one-class-folder', 'a dataset with one class is refused as such, not as "numClasses"', async () => {
  const folder = join(root, 'one-class');
  await writeColourFolder(folder, { train: 4, test: 2 }, { red: [200, 40, 40] }, 9);
  await assert.rejects(quietStderr(() => compareCommand(['--data', folder, '--cache-dir', join(root, 'one-cache'), '--backbone', 'convnet', '--epochs', '1', '--out', join(root, 'one-out')])),
    (e: Error) => e instanceof UsageError && /Expected --data with at least 2 classes of training images but .*one-class has 1 \('red'\)/.test(e.message));
});

badInput('data/max-train-over-size', '--max-train 1000 on 24 images names the flag', async () => {
  const folder = join(root, 'enospc');
  await assert.rejects(quietStderr(() => compareCommand(['--data', folder, '--cache-dir', join(root, 'max-cache'), '--backbone', 'convnet', '--max-train', '1000', '--out', join(root, 'max-out')])),
    (e: Error) => e instanceof UsageError && /Expected --max-train at most the 24 training images of the data but received 1000/.test(e.message));
});

badInput('data/train-test-classes-differ', 'test classes without training images are refused, naming them', async () => {
  const folder = join(root, 'differ');
  await writeColourFolder(folder, { train: 3, test: 2 }, { red: [200, 40, 40], green: [40, 200, 40] }, 10);
  rmSync(join(folder, 'train', 'green'), { recursive: true });
  await writeColourFolder(join(root, 'differ-extra'), { train: 3, test: 2 }, { blue: [40, 40, 200], yellow: [200, 200, 40] }, 11);
  fs.cpSync(join(root, 'differ-extra', 'train'), join(folder, 'train'), { recursive: true });
  await assert.rejects(quietStderr(() => compareCommand(['--data', folder, '--cache-dir', join(root, 'differ-cache'), '--backbone', 'convnet', '--out', join(root, 'differ-out')])),
    (e: Error) => e instanceof UsageError && /test images of 'green' and no training images of it/.test(e.message));
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DataFileError } from '../../src/data/data-error.js';
import { classCounts, type ImageDataset } from '../../src/data/dataset.js';
import { isFileImageDataset, materializeDataset, type AnyImageDataset } from '../../src/data/cache/file-image-dataset.js';
import { loadDataset, parseImageSize } from '../../src/data/load-dataset.js';
import { channelStatistics } from '../../src/data/normalization.js';
import { encodedImage, makeTempDir, writeTar } from './fixtures.js';

const { dir, cleanup } = makeTempDir('deepmetric-load-');
after(cleanup);
const cacheDir = join(dir, 'cache');

const COLORS: Record<string, [number, number, number]> = { apple: [200, 30, 30], pear: [30, 200, 30], plum: [30, 30, 200] };

/** One image file of a class: PNG, JPEG or WebP; RGB, RGBA or grayscale, by index. */
async function imageFile(className: string, i: number, size = { width: 8, height: 8 }): Promise<{ name: string; data: Buffer }> {
  const color = COLORS[className] ?? [120, 120, 120];
  if (i % 4 === 3) {
    // Grayscale PNG whose grey equals the class colour's first channel.
    const raw = Buffer.alloc(size.width * size.height, color[0]);
    return { name: `${i}.png`, data: await sharp(raw, { raw: { ...size, channels: 1 } }).png().toBuffer() };
  }
  const format = (['png', 'jpeg', 'webp'] as const)[i % 3];
  return { name: `${i}.${format === 'jpeg' ? 'jpg' : format}`, data: await encodedImage(format, color, size, i % 2 ? 4 : 3) };
}

/** Relative path → bytes for a layout: { 'train/apple': 5, … } gives 5 images in train/apple/. */
async function layoutFiles(folders: Record<string, number>, size?: { width: number; height: number }): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const [folder, count] of Object.entries(folders)) {
    const className = folder.split('/').at(-1)!;
    for (let i = 0; i < count; i++) {
      const { name, data } = await imageFile(className, i, size);
      files.set(`${folder}/${name}`, data);
    }
  }
  return files;
}

function writeFolder(root: string, files: Map<string, Buffer>): string {
  for (const [path, data] of files) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  return root;
}

function pixelsOf(dataset: AnyImageDataset): Uint8Array {
  return materializeDataset(dataset).images;
}

function assertSameDataset(actual: AnyImageDataset, expected: AnyImageDataset): void {
  assert.deepEqual(actual.classes, expected.classes);
  assert.deepEqual([...actual.labels], [...expected.labels]);
  assert.deepEqual([actual.height, actual.width, actual.channels], [expected.height, expected.width, expected.channels]);
  assert.ok(Buffer.from(pixelsOf(actual)).equals(Buffer.from(pixelsOf(expected))), 'pixels differ');
}

const SPLIT = { 'train/apple': 6, 'train/pear': 5, 'train/plum': 4, 'test/apple': 2, 'test/pear': 2, 'test/plum': 2 };

describe('loadDataset: image folders and archives', () => {
  let files: Map<string, Buffer>;
  let folder: string;
  before(async () => {
    files = await layoutFiles(SPLIT);
    folder = writeFolder(join(dir, 'fruit'), files);
  });

  it('reads train/<class>/ + test/<class>/ folders of PNG, JPEG, WebP, RGBA and grayscale images as RGB', async () => {
    const data = await loadDataset({ source: folder, cacheDir });
    assert.equal(data.heldOut, 'test');
    assert.equal(data.source.kind, 'image-folder');
    assert.deepEqual(data.classNames, ['apple', 'pear', 'plum']);
    assert.deepEqual(classCounts(data.train), [6, 5, 4]);
    assert.deepEqual(classCounts(data.test), [2, 2, 2]);
    const train = materializeDataset(data.train);
    assert.deepEqual([train.height, train.width, train.channels], [8, 8, 3]);
    // Files sort by name within a class: apple's images are 0.png, 1.jpg, 2.webp, 3.png (grey), 4.png, 5.jpg.
    const pixel = (index: number) => [...train.images.subarray(index * 192, index * 192 + 3)];
    const near = (a: number[], b: number[]) => a.every((v, c) => Math.abs(v - b[c]) <= 4);
    assert.ok(near(pixel(0), COLORS.apple), `RGB PNG: ${pixel(0)}`);
    assert.ok(near(pixel(1), COLORS.apple), `RGBA JPEG → alpha dropped: ${pixel(1)}`);
    assert.deepEqual(pixel(3), [200, 200, 200], 'grey replicated to R=G=B');
    assert.deepEqual(data.normalization, { kind: 'unit' });
    // Each image keeps its file name (nearest-neighbour reports show them).
    assert.equal(train.files![0], join(folder, 'train/apple/0.png'));
    assert.equal(train.files!.length, 15);
  });

  it('reads the same layout from .tar, .tar.gz and .zip archives, under a top folder, identically', async () => {
    const folderData = await loadDataset({ source: folder, cacheDir, cache: false });
    const entries = [...files].map(([path, data]) => ({ path: `fruit/${path}`, data }));
    const tar = join(dir, 'fruit.tar');
    writeFileSync(tar, writeTar(entries));
    const tgz = join(dir, 'fruit.tgz');
    writeFileSync(tgz, writeTar(entries, { gzip: true }));
    const zip = join(dir, 'fruit.zip');
    execFileSync('python3', ['-m', 'zipfile', '-c', zip, folder]);
    for (const archive of [tar, tgz, zip]) {
      const data = await loadDataset({ source: archive, cacheDir, cache: false });
      assert.equal(data.source.kind, 'image-archive', archive);
      assertSameDataset(data.train, folderData.train);
      assert.equal(data.train.files![0], `${archive}:fruit/train/apple/0.png`);
      assertSameDataset(data.test, folderData.test);
    }
  });

  it('names a damaged zip archive', async () => {
    const zip = join(dir, 'fruit.zip');
    const bad = join(dir, 'fruit-bad.zip');
    const bytes = readFileSync(zip);
    writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(loadDataset({ source: bad, cacheDir, cache: false }), (error: Error) => {
      assert.ok(error instanceof DataFileError);
      assert.match(error.message, /fruit-bad\.zip: (cannot read|corrupt) zip archive/);
      return true;
    });
  });

  it('caches decoded images and can stream them from the cache file with identical pixels', async () => {
    const first = await loadDataset({ source: folder, cacheDir: join(dir, 'cache-stream') });
    assert.equal(readdirSync(join(dir, 'cache-stream')).filter((f) => f.endsWith('.dmcache')).length, 2);
    // Decoded straight into the cache files, or into memory without a cache: the same datasets.
    const uncached = await loadDataset({ source: folder, cacheDir, cache: false });
    assertSameDataset(first.train, uncached.train);
    assertSameDataset(first.test, uncached.test);
    const streamed = await loadDataset({ source: folder, cacheDir: join(dir, 'cache-stream'), stream: true });
    assert.ok(isFileImageDataset(streamed.train) && isFileImageDataset(streamed.test));
    assert.deepEqual(streamed.test.files, first.test.files);
    assertSameDataset(streamed.train, first.train);
    assertSameDataset(streamed.test, first.test);
    const auto = await loadDataset({ source: folder, cacheDir: join(dir, 'cache-stream'), memoryLimitBytes: 100 });
    assert.ok(isFileImageDataset(auto.train), 'auto streams above the memory limit');
  });

  it('names an undecodable image and leaves no cache file behind', async () => {
    const broken = new Map(files);
    broken.set('train/pear/9.jpg', Buffer.from('not a jpeg at all'));
    const root = writeFolder(join(dir, 'broken'), broken);
    const brokenCache = join(dir, 'cache-broken');
    await assert.rejects(loadDataset({ source: root, cacheDir: brokenCache }), /broken\/train\/pear\/9\.jpg: cannot decode image/);
    assert.deepEqual(existsSync(brokenCache) ? readdirSync(brokenCache).filter((f) => f.includes('dmcache')) : [], []);
  });

  it('rejects mixed sizes naming two files and --image-size; resizes with --image-size / --resize', async () => {
    const mixed = await layoutFiles({ 'a/x': 2 });
    for (const [path, data] of await layoutFiles({ 'a/y': 2 }, { width: 10, height: 6 })) mixed.set(path, data);
    const root = writeFolder(join(dir, 'mixed'), mixed);
    await assert.rejects(loadDataset({ source: root, cacheDir, cache: false }), (error: Error) => {
      assert.ok(error instanceof DataFileError);
      assert.match(error.message, /a\/[xy]\/\d\.\w+: image is \d+x\d+ but .*a\/[xy]\/\d\.\w+ is \d+x\d+/);
      assert.match(error.message, /--image-size N or WxH/);
      return true;
    });
    for (const resize of ['cover', 'contain', 'fill'] as const) {
      const data = await loadDataset({ source: root, cacheDir, cache: false, imageSize: '12x5', resize, valFraction: 0.5 });
      assert.deepEqual([data.train.width, data.train.height, data.train.channels], [12, 5, 3], resize);
      assert.deepEqual(data.input.resize, { width: 12, height: 5, fit: resize });
    }
    assert.deepEqual(parseImageSize('64'), { width: 64, height: 64 });
    assert.deepEqual(parseImageSize('96x64'), { width: 96, height: 64 });
    assert.throws(() => parseImageSize('64x'), /Expected an image size as N or WxH/);
  });

  it('converts to one channel with channels: 1', async () => {
    const grey = await loadDataset({ source: folder, cacheDir, channels: 1 });
    const train = materializeDataset(grey.train);
    assert.equal(train.channels, 1);
    assert.equal(train.images.length, 15 * 64);
    assert.equal(train.images[3 * 64], 200, 'a grey image keeps its grey value');
    // Luminance weighs green most and blue least: pear (green) > apple (red) > plum (blue).
    const first = (label: number) => train.images[train.labels.indexOf(label) * 64];
    assert.ok(first(1) > first(0) && first(0) > first(2), `luminance of green, red, blue: ${first(1)}, ${first(0)}, ${first(2)}`);
  });

  it('computes per-channel mean/std of the training split for normalize: standard', async () => {
    const data = await loadDataset({ source: folder, cacheDir, normalize: 'standard' });
    const train = materializeDataset(data.train);
    // Independent recomputation: two-pass mean then variance, per channel.
    const n = train.images.length / 3;
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let i = c; i < train.images.length; i += 3) sum += train.images[i] / 255;
      const mean = sum / n;
      let sq = 0;
      for (let i = c; i < train.images.length; i += 3) sq += (train.images[i] / 255 - mean) ** 2;
      assert.ok(Math.abs(data.normalization.mean![c] - mean) < 1e-9);
      assert.ok(Math.abs(data.normalization.std![c] - Math.sqrt(sq / n)) < 1e-9);
    }
    assert.deepEqual(channelStatistics(data.train), { mean: data.normalization.mean, std: data.normalization.std });
    const imagenet = await loadDataset({ source: folder, cacheDir, normalize: 'imagenet' });
    assert.deepEqual(imagenet.normalization, { kind: 'standard', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    await assert.rejects(loadDataset({ source: folder, cacheDir, normalize: 'imagenet', channels: 1 }), /3-channel images for the ImageNet normalization/);
  });
});

describe('loadDataset: single trees and one-class layouts', () => {
  it('splits a single <class>/ tree into train and validation, seeded and stratified', async () => {
    const root = writeFolder(join(dir, 'single'), await layoutFiles({ apple: 20, pear: 10, plum: 5 }));
    const a = await loadDataset({ source: root, cacheDir, seed: 1 });
    assert.equal(a.heldOut, 'validation');
    assert.equal(a.source.layout, 'single');
    assert.deepEqual(classCounts(a.test), [4, 2, 1], 'every class keeps its share (20%)');
    assert.deepEqual(classCounts(a.train), [16, 8, 4]);
    const again = await loadDataset({ source: root, cacheDir, seed: 1 });
    assertSameDataset(again.test, a.test);
    const other = await loadDataset({ source: root, cacheDir, seed: 2 });
    assert.deepEqual(classCounts(other.test), [4, 2, 1]);
    const half = await loadDataset({ source: root, cacheDir, seed: 1, valFraction: 0.4 });
    assert.deepEqual(classCounts(half.test), [8, 4, 2]);
    // Train and validation never share an image: together they are the whole tree.
    const all = await loadDataset({ source: root, cacheDir, cache: false, valFraction: 0.5 });
    assert.equal(all.train.labels.length + all.test.labels.length, 35);
  });

  it('chooses different validation images for different seeds', async () => {
    // Images that differ from each other: each one's grey level is its index.
    const root = join(dir, 'distinct');
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(root, `c${i % 2}`), { recursive: true });
      writeFileSync(join(root, `c${i % 2}`, `${i}.png`), await sharp(Buffer.alloc(16, i * 10), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer());
    }
    const first = (seed: number) => loadDataset({ source: root, cacheDir, seed, valFraction: 0.3 }).then((d) => [...pixelsOf(d.test)].filter((_, k) => k % 48 === 0));
    assert.deepEqual(await first(5), await first(5));
    assert.notDeepEqual(await first(5), await first(6));
  });

  it('reads an MVTec-AD-like one-class layout: train/good only, test/good + defects, ground_truth ignored', async () => {
    const files = await layoutFiles({ 'bottle/train/good': 4, 'bottle/test/good': 2, 'bottle/test/crack': 2, 'bottle/test/scratch': 1 });
    for (const [path, data] of await layoutFiles({ 'bottle/ground_truth/crack': 2 }, { width: 5, height: 5 })) files.set(path, data);
    const root = writeFolder(join(dir, 'mvtec'), files);
    const data = await loadDataset({ source: root, cacheDir });
    assert.equal(data.heldOut, 'test');
    assert.deepEqual(data.classNames, ['crack', 'good', 'scratch']);
    assert.deepEqual(data.trainClassNames, ['good']);
    assert.deepEqual(data.testClassNames, ['crack', 'good', 'scratch']);
    assert.deepEqual(classCounts(data.train), [0, 4, 0]);
    assert.deepEqual(classCounts(data.test), [2, 2, 1]);
  });

  it('reads train/ + val/ when there is no test/', async () => {
    const root = writeFolder(join(dir, 'trainval'), await layoutFiles({ 'train/apple': 3, 'train/pear': 3, 'val/apple': 1, 'val/pear': 1 }));
    const data = await loadDataset({ source: root, cacheDir });
    assert.equal(data.heldOut, 'test');
    assert.deepEqual(classCounts(data.test), [1, 1]);
  });

  it('names the folder when it holds no images', async () => {
    mkdirSync(join(dir, 'empty', 'a'), { recursive: true });
    writeFileSync(join(dir, 'empty', 'a', 'notes.txt'), 'hello');
    await assert.rejects(loadDataset({ source: join(dir, 'empty'), cacheDir }), /empty: no images found; expected <class>\/<image>/);
  });
});

/** An IDX file of unsigned bytes with the given dimensions. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  for (const [i, d] of dims.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([header, Buffer.from(data)]);
}

describe('loadDataset: MNIST-format IDX folders', () => {
  let root: string;
  let trainPixels: Uint8Array;
  before(() => {
    root = join(dir, 'idx');
    mkdirSync(root, { recursive: true });
    trainPixels = Uint8Array.from({ length: 6 * 4 * 4 }, (_, i) => (i * 7) % 256);
    writeFileSync(join(root, 'train-images-idx3-ubyte.gz'), gzipSync(idx([6, 4, 4], trainPixels)));
    writeFileSync(join(root, 'train-labels-idx1-ubyte'), idx([6], Uint8Array.from([0, 1, 2, 0, 1, 2])));
    writeFileSync(join(root, 't10k-images-idx3-ubyte'), idx([3, 4, 4], new Uint8Array(48).fill(9)));
    writeFileSync(join(root, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([3], Uint8Array.from([2, 1, 0]))));
  });

  it('recognises the folder; class names are indices without classes.txt; gray is replicated to 3 channels by default', async () => {
    const data = await loadDataset({ source: root, cacheDir });
    assert.equal(data.source.kind, 'idx');
    assert.deepEqual(data.classNames, ['0', '1', '2']);
    assert.equal(data.heldOut, 'test');
    const train = materializeDataset(data.train) as ImageDataset;
    assert.deepEqual([train.height, train.width, train.channels], [4, 4, 3]);
    for (let p = 0; p < trainPixels.length; p++) {
      for (let c = 0; c < 3; c++) assert.equal(train.images[p * 3 + c], trainPixels[p]);
    }
    assert.deepEqual([...data.test.labels], [2, 1, 0]);
    const one = materializeDataset((await loadDataset({ source: root, cacheDir, channels: 1 })).train);
    assert.deepEqual([...one.images], [...trainPixels]);
  });

  it('takes class names from classes.txt, and splits off validation when t10k is absent', async () => {
    const named = join(dir, 'idx-named');
    mkdirSync(named, { recursive: true });
    writeFileSync(join(named, 'train-images-idx3-ubyte'), idx([6, 4, 4], trainPixels));
    writeFileSync(join(named, 'train-labels-idx1-ubyte'), idx([6], Uint8Array.from([0, 1, 2, 0, 1, 2])));
    writeFileSync(join(named, 'classes.txt'), 'circle\nsquare\ntriangle\n');
    const data = await loadDataset({ source: named, cacheDir, valFraction: 0.5, imageSize: 8 });
    assert.deepEqual(data.classNames, ['circle', 'square', 'triangle']);
    assert.equal(data.heldOut, 'validation');
    assert.deepEqual(classCounts(data.test), [1, 1, 1]);
    assert.deepEqual([data.train.height, data.train.width], [8, 8]);
  });
});

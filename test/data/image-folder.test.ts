import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { DataFileError } from '../../src/data/data-error.js';
import { classCounts } from '../../src/data/dataset.js';
import { loadImageFolder } from '../../src/data/sources/image-folder.js';
import { encodedImage, makeTempDir, writeTar } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
after(cleanup);

const colors: Record<string, [number, number, number]> = { cat: [200, 30, 30], bird: [30, 200, 30], truck: [30, 30, 200] };

async function writeTree(root: string, perClass: Record<string, number>): Promise<void> {
  for (const [name, count] of Object.entries(perClass)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const format = (['png', 'jpeg', 'webp'] as const)[i % 3];
      const extension = format === 'jpeg' ? 'jpg' : format;
      writeFileSync(join(root, name, `${i}.${extension}`), await encodedImage(format, colors[name] ?? [90, 90, 90], undefined, i % 2 ? 4 : 3));
    }
  }
}

function meanColor(images: Uint8Array, index: number): number[] {
  const sums = [0, 0, 0];
  for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) sums[c] += images[index * 192 + p * 3 + c];
  return sums.map((s) => s / 64);
}

describe('loadImageFolder', () => {
  const root = join(dir, 'tree');
  before(() => writeTree(root, { truck: 2, cat: 3, bird: 1 }));

  it('decodes PNG, JPEG and WebP (with or without alpha) into RGB, classes in CIFAR-10 order', async () => {
    const dataset = await loadImageFolder(root);
    assert.deepEqual(dataset.classes, ['bird', 'cat', 'truck']);
    assert.deepEqual(classCounts(dataset), [1, 3, 2]);
    assert.deepEqual([dataset.height, dataset.width, dataset.channels], [8, 8, 3]);
    assert.equal(dataset.images.length, 6 * 8 * 8 * 3);
    dataset.labels.forEach((label, i) => {
      const expected = colors[dataset.classes[label]];
      meanColor(dataset.images, i).forEach((value, c) => assert.ok(Math.abs(value - expected[c]) <= 4, `${value} vs ${expected[c]}`));
    });
  });

  it('orders non-CIFAR class names alphabetically (numerically aware) and resizes on request', async () => {
    const other = join(dir, 'other');
    await writeTree(other, { class10: 1, class2: 1, Alpha: 1 });
    const dataset = await loadImageFolder(other, { resize: { width: 4, height: 6 } });
    assert.deepEqual(dataset.classes, ['Alpha', 'class2', 'class10']);
    assert.deepEqual([dataset.height, dataset.width], [6, 4]);
    const grey = await loadImageFolder(other, { channels: 1 });
    assert.equal(grey.channels, 1);
    assert.equal(grey.images.length, 3 * 64);
  });

  it('names an undecodable image', async () => {
    const bad = join(dir, 'bad-image');
    await writeTree(bad, { cat: 2 });
    writeFileSync(join(bad, 'cat', 'broken.png'), Buffer.from('not really a png'));
    await assert.rejects(loadImageFolder(bad), (error: Error) => error instanceof DataFileError && error.file === join(bad, 'cat', 'broken.png') && /cannot decode image/.test(error.message));
  });

  it('names an empty class folder', async () => {
    const empty = join(dir, 'empty-class');
    await writeTree(empty, { cat: 1 });
    mkdirSync(join(empty, 'bird'));
    writeFileSync(join(empty, 'bird', 'notes.txt'), 'no images here');
    await assert.rejects(loadImageFolder(empty), (error: Error) => error instanceof DataFileError && error.file === join(empty, 'bird') && /empty class folder/.test(error.message));
  });

  it('names an image whose size differs from the others unless resizing', async () => {
    const mixed = join(dir, 'mixed');
    await writeTree(mixed, { cat: 2 });
    writeFileSync(join(mixed, 'cat', 'big.png'), await encodedImage('png', [1, 2, 3], { width: 16, height: 8 }));
    await assert.rejects(loadImageFolder(mixed, { concurrency: 1 }), /big\.png: image is 16x8 but .*0\.png is 8x8; .*pass --image-size N or WxH/);
    const resized = await loadImageFolder(mixed, { resize: { width: 8, height: 8 } });
    assert.equal(resized.labels.length, 3);
  });

  it('rejects a folder without class folders', async () => {
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    await assert.rejects(loadImageFolder(flat), /flat: no class folders found/);
  });
});

describe('CIFAR-10 in image-folder layout', () => {
  const root = join(dir, 'split-tree');
  before(async () => {
    await writeTree(join(root, 'train'), { truck: 2, cat: 3 });
    await writeTree(join(root, 'test'), { truck: 1, cat: 1 });
  });

  it('loads train/<class>/ and test/<class>/ from a folder', async () => {
    const { train, test } = await loadCifar10({ source: root, cacheDir: join(dir, 'cache-folder') });
    assert.deepEqual(train.classes, ['cat', 'truck']);
    assert.deepEqual(test.classes, ['cat', 'truck']);
    assert.deepEqual([...train.labels], [0, 0, 0, 1, 1]);
    assert.deepEqual([...test.labels], [0, 1]);
  });

  it('loads the same layout from a tar.gz archive, identical to the folder', async () => {
    const entries = [];
    for (const split of ['train', 'test']) {
      for (const name of readdirSync(join(root, split))) {
        entries.push({ path: `cifar10/${split}/${name}/`, type: 'directory' as const });
        for (const file of readdirSync(join(root, split, name))) {
          entries.push({ path: `cifar10/${split}/${name}/${file}`, data: readFileSync(join(root, split, name, file)) });
        }
      }
    }
    const archive = join(dir, 'images.tar.gz');
    writeFileSync(archive, writeTar(entries.reverse(), { gzip: true }));
    const fromArchive = await loadCifar10({ source: archive, cacheDir: join(dir, 'cache-archive') });
    const fromFolder = await loadCifar10({ source: root, cacheDir: join(dir, 'cache-folder') });
    assert.deepEqual(fromArchive.train.labels, fromFolder.train.labels);
    assert.deepEqual(Buffer.from(fromArchive.train.images), Buffer.from(fromFolder.train.images));
    assert.deepEqual(Buffer.from(fromArchive.test.images), Buffer.from(fromFolder.test.images));
  });

  it('names an empty class folder inside an archive and an undecodable archived image', async () => {
    const png = await encodedImage('png', [1, 2, 3]);
    const emptyClass = join(dir, 'empty-class.tar.gz');
    writeFileSync(emptyClass, writeTar([
      { path: 'train/cat/0.png', data: png }, { path: 'train/dog/', type: 'directory' },
      { path: 'test/cat/0.png', data: png },
    ], { gzip: true }));
    await assert.rejects(loadCifar10({ source: emptyClass, cacheDir: join(dir, 'c1') }), (error: Error) =>
      error instanceof DataFileError && error.file === `${emptyClass}:train/dog` && /empty class folder/.test(error.message));
    const broken = join(dir, 'broken.tar.gz');
    writeFileSync(broken, writeTar([{ path: 'train/cat/0.png', data: png.subarray(0, 30) }, { path: 'test/cat/0.png', data: png }], { gzip: true }));
    await assert.rejects(loadCifar10({ source: broken, cacheDir: join(dir, 'c2') }), (error: Error) =>
      error instanceof DataFileError && error.file === `${broken}:train/cat/0.png`);
    assert.ok(!existsSync(join(dir, 'c2')) || readdirSync(join(dir, 'c2')).length === 0, 'nothing written to the cache');
  });

  it('rejects an archive holding no CIFAR-10 layout', async () => {
    const archive = join(dir, 'unrelated.tar.gz');
    writeFileSync(archive, writeTar([{ path: 'readme.txt', data: Buffer.from('hi') }], { gzip: true }));
    await assert.rejects(loadCifar10({ source: archive, cacheDir: join(dir, 'c3') }), /unrelated\.tar\.gz: archive holds neither/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { augmentBatch, CIFAR10_AUGMENT, cutoutImage, flipImageHorizontally, shiftImage } from '../../src/data/loading/transforms.js';
import { noiseBytes } from './fixtures.js';

const shape = { height: 6, width: 5, channels: 3 };
const perImage = 6 * 5 * 3;
const pixel = (images: Uint8Array, index: number, y: number, x: number) =>
  Array.from(images.subarray(index * perImage + (y * 5 + x) * 3, index * perImage + (y * 5 + x) * 3 + 3));

describe('transform primitives', () => {
  it('flipping twice is the identity and a flip mirrors columns', () => {
    const original = new Uint8Array(noiseBytes(2 * perImage, 1));
    const images = Uint8Array.from(original);
    flipImageHorizontally(images, 1, shape);
    assert.deepEqual(images.subarray(0, perImage), original.subarray(0, perImage), 'other images untouched');
    assert.deepEqual(pixel(images, 1, 2, 0), pixel(original, 1, 2, 4));
    assert.deepEqual(pixel(images, 1, 3, 2), pixel(original, 1, 3, 2));
    flipImageHorizontally(images, 1, shape);
    assert.deepEqual(images, original);
  });

  it('a shift equals cropping the zero-padded image, for every offset within the padding', () => {
    const original = new Uint8Array(noiseBytes(perImage, 2));
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const images = Uint8Array.from(original);
        shiftImage(images, 0, shape, dy, dx);
        for (let y = 0; y < 6; y++) {
          for (let x = 0; x < 5; x++) {
            const sy = y + dy;
            const sx = x + dx;
            const inside = sy >= 0 && sy < 6 && sx >= 0 && sx < 5;
            assert.deepEqual(pixel(images, 0, y, x), inside ? pixel(original, 0, sy, sx) : [0, 0, 0], `dy=${dy} dx=${dx} y=${y} x=${x}`);
          }
        }
      }
    }
  });

  it('cutout zeroes exactly the clipped square', () => {
    const images = new Uint8Array(perImage).fill(9);
    cutoutImage(images, 0, shape, 0, 4, 4);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 5; x++) assert.deepEqual(pixel(images, 0, y, x), y < 2 && x >= 2 ? [0, 0, 0] : [9, 9, 9]);
    }
  });
});

describe('augmentBatch', () => {
  const batch = new Uint8Array(noiseBytes(16 * perImage, 3));
  const options = { ...CIFAR10_AUGMENT, cutoutSize: 2, cutoutProbability: 0.5 };

  it('is deterministic per seed and differs across seeds', () => {
    const a = Uint8Array.from(batch);
    const b = Uint8Array.from(batch);
    const c = Uint8Array.from(batch);
    augmentBatch(a, 16, shape, options, 42);
    augmentBatch(b, 16, shape, options, 42);
    augmentBatch(c, 16, shape, options, 43);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.notDeepEqual(a, batch);
  });

  it('only moves, mirrors or zeroes pixels of the same image', () => {
    const images = Uint8Array.from(batch);
    augmentBatch(images, 16, shape, options, 7);
    for (let i = 0; i < 16; i++) {
      const source = new Set<string>();
      for (let p = 0; p < 30; p++) source.add(pixel(batch, i, Math.floor(p / 5), p % 5).join());
      for (let p = 0; p < 30; p++) {
        const value = pixel(images, i, Math.floor(p / 5), p % 5).join();
        assert.ok(value === '0,0,0' || source.has(value));
      }
    }
  });

  it('checks its options', () => {
    assert.throws(() => augmentBatch(batch, 1, shape, { cropPadding: -1 }, 0), /Expected an integer between 0 and 6 for cropPadding but received -1/);
    assert.throws(() => augmentBatch(batch, 1, shape, { flipProbability: 2 }, 0), /Expected a number between 0 and 1 for flipProbability but received 2/);
  });
});

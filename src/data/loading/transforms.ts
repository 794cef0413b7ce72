// Seeded data augmentation on uint8 NHWC batches, done in place. The primitives take explicit
// parameters (testable, deterministic); `augmentBatch` draws those parameters from a PRNG seeded
// per batch, so the same seed gives the same batch whichever thread prepares it.
// Row operations use copyWithin/fill on the batch buffer itself: no per-image allocation, which
// keeps 32x32 augmentation well above 100,000 images/s on one core.

import { checkInt, checkNumber } from '../../tensor/checks.js';
import { Random } from './random.js';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/**
 * Shifts image `index` by (dy, dx) as if it were zero-padded and cropped back to its size:
 * output pixel (y, x) is input pixel (y + dy, x + dx), or 0 outside the image.
 * A random crop with padding p is this with dy, dx uniform in [-p, p].
 */
export function shiftImage(images: Uint8Array, index: number, shape: ImageShape, dy: number, dx: number): void {
  const { height, width, channels } = shape;
  const row = width * channels;
  const base = index * height * row;
  if (Math.abs(dy) >= height || Math.abs(dx) >= width) {
    images.fill(0, base, base + height * row);
    return;
  }
  const x0 = Math.max(0, -dx);
  const x1 = Math.min(width, width - dx);
  // Reading ahead of the write position is safe going forwards; reading behind, going backwards.
  const forwards = dy > 0 || (dy === 0 && dx >= 0);
  for (let step = 0; step < height; step++) {
    const y = forwards ? step : height - 1 - step;
    const out = base + y * row;
    const sy = y + dy;
    if (sy < 0 || sy >= height) {
      images.fill(0, out, out + row);
      continue;
    }
    const source = base + sy * row + (x0 + dx) * channels;
    images.copyWithin(out + x0 * channels, source, source + (x1 - x0) * channels);
    if (x0 > 0) images.fill(0, out, out + x0 * channels);
    if (x1 < width) images.fill(0, out + x1 * channels, out + row);
  }
}

/** Mirrors image `index` left to right. */
export function flipImageHorizontally(images: Uint8Array, index: number, shape: ImageShape): void {
  const { height, width, channels } = shape;
  const row = width * channels;
  const base = index * height * row;
  for (let y = 0; y < height; y++) {
    let left = base + y * row;
    let right = left + row - channels;
    while (left < right) {
      for (let c = 0; c < channels; c++) {
        const tmp = images[left + c];
        images[left + c] = images[right + c];
        images[right + c] = tmp;
      }
      left += channels;
      right -= channels;
    }
  }
}

/** Zeroes a size x size square centred on (cy, cx), clipped to image `index` (DeVries & Taylor, 2017). */
export function cutoutImage(images: Uint8Array, index: number, shape: ImageShape, cy: number, cx: number, size: number): void {
  const { height, width, channels } = shape;
  const row = width * channels;
  const base = index * height * row;
  const top = Math.max(0, cy - (size >> 1));
  const bottom = Math.min(height, cy - (size >> 1) + size);
  const left = Math.max(0, cx - (size >> 1));
  const right = Math.min(width, cx - (size >> 1) + size);
  if (left >= right) return;
  for (let y = top; y < bottom; y++) images.fill(0, base + y * row + left * channels, base + y * row + right * channels);
}

export interface AugmentOptions {
  /** Random crop after zero padding by this many pixels on each side; 0 disables. */
  cropPadding?: number;
  /** Probability of a horizontal flip; 0 disables. */
  flipProbability?: number;
  /** Side of the cutout square in pixels; 0 disables. */
  cutoutSize?: number;
  /** Probability of applying cutout to an image (default 1 when cutoutSize > 0). */
  cutoutProbability?: number;
}

/** The standard CIFAR-10 training augmentation: pad-4 random crop and horizontal flip. */
export const CIFAR10_AUGMENT: Readonly<AugmentOptions> = Object.freeze({ cropPadding: 4, flipProbability: 0.5 });

/** Checks options once, so the per-image loop does not. */
export function checkAugmentOptions(options: AugmentOptions, shape: ImageShape): Required<AugmentOptions> {
  return {
    cropPadding: checkInt(options.cropPadding ?? 0, 'cropPadding', 0, Math.max(shape.height, shape.width)),
    flipProbability: checkNumber(options.flipProbability ?? 0, 'flipProbability', 0, 1),
    cutoutSize: checkInt(options.cutoutSize ?? 0, 'cutoutSize', 0, Math.max(shape.height, shape.width)),
    cutoutProbability: checkNumber(options.cutoutProbability ?? 1, 'cutoutProbability', 0, 1),
  };
}

/** Augments the first `count` images of a batch in place; the same seed gives the same result. */
export function augmentBatch(images: Uint8Array, count: number, shape: ImageShape, options: AugmentOptions, seed: number): void {
  const { cropPadding, flipProbability, cutoutSize, cutoutProbability } = checkAugmentOptions(options, shape);
  const random = new Random(seed);
  const span = 2 * cropPadding + 1;
  for (let i = 0; i < count; i++) {
    if (cropPadding > 0) {
      const dy = random.nextInt(span) - cropPadding;
      const dx = random.nextInt(span) - cropPadding;
      if (dy !== 0 || dx !== 0) shiftImage(images, i, shape, dy, dx);
    }
    if (flipProbability > 0 && random.nextFloat() < flipProbability) flipImageHorizontally(images, i, shape);
    if (cutoutSize > 0 && random.nextFloat() < cutoutProbability) {
      cutoutImage(images, i, shape, random.nextInt(shape.height), random.nextInt(shape.width), cutoutSize);
    }
  }
}

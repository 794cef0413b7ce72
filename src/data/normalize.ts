// Per-channel normalisation, (pixel / 255 - mean) / std, from uint8 NHWC to float32. Training
// normally does this on tensors; this CPU version serves tests, tools and tensor-free callers.

import type { ImageShape } from './transforms.js';

export function normalizeImages(
  images: Uint8Array,
  shape: ImageShape,
  mean: readonly number[],
  std: readonly number[],
  layout: 'NCHW' | 'NHWC' = 'NCHW',
): Float32Array {
  const { height, width, channels } = shape;
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`Expected ${channels} mean and std values but received ${mean.length} and ${std.length}`);
  }
  const plane = height * width;
  const count = images.length / (plane * channels);
  const out = new Float32Array(images.length);
  const scale = std.map((s) => 1 / (255 * s));
  const offset = mean.map((m, c) => m / std[c]);
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) {
        const value = images[base + p * channels + c] * scale[c] - offset[c];
        out[layout === 'NCHW' ? base + c * plane + p : base + p * channels + c] = value;
      }
    }
  }
  return out;
}

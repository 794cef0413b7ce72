// Turns a list of dataset indices into a batch: gather the images, then augment. Shared by the
// loader's worker thread and its main-thread fallback so both produce identical bytes.

import type { ImageShape, AugmentOptions } from './transforms.js';
import { augmentBatch } from './transforms.js';
import { readRows } from '../cache/file-image-dataset.js';

export interface Batch {
  /** size*H*W*C bytes, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
  /** Dataset index of each image in the batch. */
  indices: Int32Array;
  size: number;
  height: number;
  width: number;
  channels: number;
}

export interface BatchSource {
  /** The dataset's pixels in memory, or… */
  images?: Uint8Array;
  /** …a cache file read with positioned reads through a descriptor opened by the loader. */
  file?: { fd: number; file: string; pixelOffset: number; rows: Int32Array };
  labels: Int32Array;
  shape: ImageShape;
  augment?: AugmentOptions;
}

export function assembleBatch(source: BatchSource, indices: Int32Array, seed: number): Batch {
  const { height, width, channels } = source.shape;
  const perImage = height * width * channels;
  const size = indices.length;
  const images = new Uint8Array(size * perImage);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) labels[i] = source.labels[indices[i]];
  if (source.images) {
    for (let i = 0; i < size; i++) {
      const index = indices[i];
      images.set(source.images.subarray(index * perImage, (index + 1) * perImage), i * perImage);
    }
  } else if (source.file) {
    readRows(source.file.fd, source.file, indices, images, perImage);
  } else {
    throw new TypeError('Expected a batch source with images or a file but received neither');
  }
  if (source.augment) augmentBatch(images, size, source.shape, source.augment, seed);
  return { images, labels, indices, size, height, width, channels };
}

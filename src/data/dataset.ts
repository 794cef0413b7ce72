// The in-memory form of every image dataset: one contiguous uint8 buffer of N images in NHWC
// order plus one int32 label per image. Contiguous bytes make batching a memcpy and let a worker
// thread read the images without copying when the buffer is a SharedArrayBuffer.

import { checkInt } from '../tensor/checks.js';
import { isFileImageDataset, materializeDataset, type AnyImageDataset, type FileImageDataset } from './cache/file-image-dataset.js';

export interface ImageDataset {
  /** N*H*W*C bytes, NHWC, channels RGB (or a single grey channel). */
  images: Uint8Array;
  /** One label per image, each in 0..classes.length-1. */
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
  /** Class names; label i names classes[i]. */
  classes: string[];
  /** Where each image came from (a file path or an archive entry), when the source had files. */
  files?: string[];
}

/** Bytes of one image. */
export function imageSize(dataset: Pick<ImageDataset, 'height' | 'width' | 'channels'>): number {
  return dataset.height * dataset.width * dataset.channels;
}

export function datasetSize(dataset: AnyImageDataset): number {
  return dataset.labels.length;
}

/** Number of images of each class, indexed by label. */
export function classCounts(dataset: Pick<ImageDataset, 'labels' | 'classes'>): number[] {
  const counts = new Array<number>(dataset.classes.length).fill(0);
  for (const label of dataset.labels) counts[label]++;
  return counts;
}

/** Indices of the images of each class, indexed by label, in dataset order. */
export function indicesByClass(labels: Int32Array, classCount: number): Int32Array[] {
  const counts = new Int32Array(classCount);
  for (const label of labels) counts[label]++;
  const groups = Array.from(counts, (count) => new Int32Array(count));
  const filled = new Int32Array(classCount);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    groups[label][filled[label]++] = i;
  }
  return groups;
}

/**
 * Bytes backed by a SharedArrayBuffer, so the loader's worker can read them without a copy.
 * Falls back to an ordinary buffer where SharedArrayBuffer is unavailable.
 */
export function sharedBytes(length: number): Uint8Array {
  if (typeof SharedArrayBuffer === 'function') return new Uint8Array(new SharedArrayBuffer(length));
  return new Uint8Array(length);
}

/**
 * Checks shapes, lengths and label ranges; `origin` (a file or a description) starts the message.
 */
export function validateDataset(dataset: ImageDataset, origin = 'dataset'): ImageDataset {
  const { images, labels, height, width, channels, classes } = dataset;
  for (const [name, value] of [['height', height], ['width', width], ['channels', channels]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${origin}: Expected positive integer for ${name} but received ${value}`);
    }
  }
  if (!(images instanceof Uint8Array)) throw new TypeError(`${origin}: Expected Uint8Array for images`);
  if (!(labels instanceof Int32Array)) throw new TypeError(`${origin}: Expected Int32Array for labels`);
  if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) {
    throw new TypeError(`${origin}: Expected an array of strings for classes`);
  }
  const perImage = height * width * channels;
  if (images.length !== labels.length * perImage) {
    throw new RangeError(
      `${origin}: ${labels.length} labels need ${labels.length * perImage} image bytes ` +
        `(${height}x${width}x${channels} each) but received ${images.length}`,
    );
  }
  if (dataset.files !== undefined && (!Array.isArray(dataset.files) || dataset.files.length !== labels.length)) {
    throw new RangeError(`${origin}: Expected one file name per image (${labels.length}) but received ${Array.isArray(dataset.files) ? dataset.files.length : typeof dataset.files}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label < 0 || label >= classes.length) {
      throw new RangeError(`${origin}: label ${label} of image ${i} is outside 0..${classes.length - 1}`);
    }
  }
  return dataset;
}

/**
 * A new dataset holding the given images in the given order: copied for an in-memory dataset, a
 * view over the same cache file for a file-backed one. With `relabel`, old labels map to new ones
 * and `classes` becomes the new class list.
 */
export function subsetDataset<D extends AnyImageDataset>(
  dataset: D,
  indices: ArrayLike<number>,
  relabel?: { labelMap: ArrayLike<number>; classes: string[] },
): D {
  const count = dataset.labels.length;
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    checkInt(index, 'index', 0, count - 1);
    const label = dataset.labels[index];
    labels[i] = relabel ? relabel.labelMap[label] : label;
  }
  const classes = relabel ? [...relabel.classes] : [...dataset.classes];
  const files = dataset.files ? { files: Array.from(indices, (index) => dataset.files![index]) } : {};
  if (isFileImageDataset(dataset)) {
    const rows = Int32Array.from(indices, (index) => dataset.rows[index]);
    return { ...dataset, rows, labels, classes, ...files } satisfies FileImageDataset as D;
  }
  const perImage = imageSize(dataset);
  const images = sharedBytes(indices.length * perImage);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    images.set((dataset as ImageDataset).images.subarray(index * perImage, (index + 1) * perImage), i * perImage);
  }
  return { images, labels, height: dataset.height, width: dataset.width, channels: dataset.channels, classes, ...files } satisfies ImageDataset as D;
}

/** Appends datasets of identical shape and class list, in memory. */
export function concatDatasets(datasets: AnyImageDataset[]): ImageDataset {
  if (datasets.length === 0) throw new RangeError('Expected at least one dataset to concatenate but received 0');
  const parts = datasets.map(materializeDataset);
  const [first] = parts;
  for (const part of parts) {
    if (part.height !== first.height || part.width !== first.width || part.channels !== first.channels) {
      throw new RangeError(
        `Cannot concatenate datasets of shape ${part.height}x${part.width}x${part.channels} and ${first.height}x${first.width}x${first.channels}`,
      );
    }
    if (part.classes.join('\n') !== first.classes.join('\n')) {
      throw new RangeError('Cannot concatenate datasets with different class lists');
    }
  }
  const images = sharedBytes(parts.reduce((n, p) => n + p.images.length, 0));
  const labels = new Int32Array(parts.reduce((n, p) => n + p.labels.length, 0));
  let imageOffset = 0;
  let labelOffset = 0;
  for (const part of parts) {
    images.set(part.images, imageOffset);
    labels.set(part.labels, labelOffset);
    imageOffset += part.images.length;
    labelOffset += part.labels.length;
  }
  const files = parts.every((p) => p.files) ? parts.flatMap((p) => p.files!) : undefined;
  return { images, labels, height: first.height, width: first.width, channels: first.channels, classes: [...first.classes], ...(files ? { files } : {}) };
}

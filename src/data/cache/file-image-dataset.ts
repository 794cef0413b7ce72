// A dataset whose pixels stay in a dataset-cache file and are read on demand with positioned
// reads, so datasets larger than memory can be trained on: only labels (4 bytes per image) live in
// the heap. `rows` maps the dataset's images to records of the file, so subsets and splits are
// views over the same file rather than copies.

import { closeSync, openSync, readSync } from 'node:fs';
import { DataFileError } from '../data-error.js';
import { sharedBytes, type ImageDataset } from '../dataset.js';

export interface FileImageDataset {
  storage: 'file';
  /** The dataset-cache file holding the pixels. */
  file: string;
  /** Byte offset of record 0's pixels in the file. */
  pixelOffset: number;
  /** Record in the file of each image of this dataset. */
  rows: Int32Array;
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
  classes: string[];
  /** Where each image came from (a file path or an archive entry), when the source had files. */
  files?: string[];
}

/** Either form of image dataset: pixels in memory, or in a cache file. */
export type AnyImageDataset = ImageDataset | FileImageDataset;

export function isFileImageDataset(dataset: AnyImageDataset): dataset is FileImageDataset {
  return (dataset as FileImageDataset).storage === 'file';
}

/**
 * Reads images of a file-backed dataset; runs of consecutive records are read in one call.
 * Synchronous on purpose: the loader's worker and the evaluation loop both want bytes now.
 */
export class FileImageReader {
  private fd: number | undefined;
  readonly bytesPerImage: number;

  constructor(readonly dataset: FileImageDataset) {
    this.bytesPerImage = dataset.height * dataset.width * dataset.channels;
  }

  /** The pixels of the given images (dataset indices), concatenated in that order. */
  read(indices: ArrayLike<number>, into?: Uint8Array): Uint8Array {
    const per = this.bytesPerImage;
    const out = into ?? new Uint8Array(indices.length * per);
    readRows(this.open(), this.dataset, indices, out, per);
    return out;
  }

  /** Images [start, end) in dataset order. */
  readRange(start: number, end: number, into?: Uint8Array): Uint8Array {
    return this.read(Int32Array.from({ length: end - start }, (_, i) => start + i), into);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.dataset.file, 'r');
      } catch (error) {
        throw new DataFileError(this.dataset.file, `cannot open dataset cache (${(error as Error).message})`, { cause: error });
      }
    }
    return this.fd;
  }
}

/** Reads the images `indices` of `dataset` through an open descriptor; shared with the loader's worker. */
export function readRows(fd: number, dataset: Pick<FileImageDataset, 'file' | 'pixelOffset' | 'rows'>, indices: ArrayLike<number>, out: Uint8Array, per: number): void {
  const { rows, pixelOffset } = dataset;
  for (let i = 0; i < indices.length; ) {
    const first = rows[indices[i]];
    if (first === undefined) throw new RangeError(`Expected an image index below ${rows.length} but received ${indices[i]}`);
    let run = 1;
    while (i + run < indices.length && rows[indices[i + run]] === first + run) run++;
    const length = run * per;
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, i * per + done, length - done, pixelOffset + first * per + done);
      if (n === 0) throw new DataFileError(dataset.file, `dataset cache ended early (record ${first + Math.floor(done / per)})`);
      done += n;
    }
    i += run;
  }
}

/** The pixels of images [start, end) of either kind of dataset (a view for in-memory ones). */
export function imagesInRange(dataset: AnyImageDataset, start: number, end: number): Uint8Array {
  const per = dataset.height * dataset.width * dataset.channels;
  if (!isFileImageDataset(dataset)) return dataset.images.subarray(start * per, end * per);
  const reader = new FileImageReader(dataset);
  try {
    return reader.readRange(start, end);
  } finally {
    reader.close();
  }
}

/** The whole dataset in memory (shared bytes); an in-memory dataset is returned as it is. */
export function materializeDataset(dataset: AnyImageDataset): ImageDataset {
  if (!isFileImageDataset(dataset)) return dataset;
  const per = dataset.height * dataset.width * dataset.channels;
  const images = sharedBytes(dataset.labels.length * per);
  const reader = new FileImageReader(dataset);
  try {
    reader.read(Int32Array.from({ length: dataset.labels.length }, (_, i) => i), images);
  } finally {
    reader.close();
  }
  const { labels, height, width, channels, classes, files } = dataset;
  return { images, labels, height, width, channels, classes: [...classes], ...(files ? { files } : {}) };
}

// The IDX format used by MNIST and Fashion-MNIST: 2 zero bytes, a type byte (0x08 = uint8), a
// dimension count, big-endian uint32 sizes, then the data. Files may be gzip-compressed.

import { gunzipSync } from 'node:zlib';
import { DataFileError } from '../data-error.js';
import { sharedBytes, validateDataset, type ImageDataset } from '../dataset.js';
import { InputFileError, readInputFile } from '../../util/input-file.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses IDX bytes of unsigned bytes (type 0x08); `file` names the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 4 || buffer[0] !== 0 || buffer[1] !== 0) {
    throw new DataFileError(file, 'not an IDX file (it must start with two zero bytes)');
  }
  if (buffer[2] !== 0x08) {
    throw new DataFileError(file, `IDX element type 0x${buffer[2].toString(16)} is not supported; expected 0x08 (unsigned byte)`);
  }
  const rank = buffer[3];
  if (rank < 1 || buffer.length < 4 + rank * 4) throw new DataFileError(file, `truncated IDX header (${rank} dimensions)`);
  const dims = Array.from({ length: rank }, (_, i) => buffer.readUInt32BE(4 + i * 4));
  const expected = dims.reduce((a, b) => a * b, 1);
  const data = buffer.subarray(4 + rank * 4);
  if (data.length !== expected) {
    throw new DataFileError(file, `IDX dimensions ${dims.join('x')} need ${expected} bytes of data but the file holds ${data.length} (truncated or corrupt)`);
  }
  return { dims, data };
}

/** The largest IDX file read, compressed or not (MNIST's largest is 47 MB). */
const MAX_IDX_BYTES = 1024 ** 3;

/** Reads an IDX file, gunzipping it when it starts with the gzip magic bytes. */
export async function readIdxFile(file: string): Promise<IdxArray> {
  let bytes: Buffer = await readInputFile(file, { what: 'IDX file', maxBytes: MAX_IDX_BYTES }).catch((error: Error) => {
    throw new DataFileError(file, `cannot read IDX file (${error instanceof InputFileError ? error.reason : error.message})`, { cause: error });
  });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // Bounded: a few KB of gzip can expand to gigabytes.
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES });
    } catch (error) {
      throw new DataFileError(file, `corrupt or truncated gzip data (${(error as Error).message})`, { cause: error });
    }
  }
  return parseIdx(bytes, file);
}

export interface MnistFiles {
  /** e.g. train-images-idx3-ubyte(.gz): N x H x W. */
  images: string;
  /** e.g. train-labels-idx1-ubyte(.gz): N. */
  labels: string;
  /** Class names; default '0'..'9' or as many as the largest label needs. */
  classes?: string[];
}

/** An MNIST-style pair of IDX files as a one-channel ImageDataset. */
export async function loadMnist(files: MnistFiles): Promise<ImageDataset> {
  const [images, labels] = await Promise.all([readIdxFile(files.images), readIdxFile(files.labels)]);
  if (images.dims.length !== 3) {
    throw new DataFileError(files.images, `expected IDX images of 3 dimensions (N x H x W) but found ${images.dims.length}`);
  }
  if (labels.dims.length !== 1) {
    throw new DataFileError(files.labels, `expected IDX labels of 1 dimension but found ${labels.dims.length}`);
  }
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) {
    throw new DataFileError(files.labels, `holds ${labels.dims[0]} labels but ${files.images} holds ${count} images`);
  }
  const maxLabel = labels.data.reduce((a, b) => Math.max(a, b), 0);
  const classes = files.classes ?? Array.from({ length: Math.max(10, maxLabel + 1) }, (_, i) => String(i));
  if (maxLabel >= classes.length) {
    throw new DataFileError(files.labels, `label ${maxLabel} has no class name (${classes.length} classes given)`);
  }
  const pixels = sharedBytes(images.data.length);
  pixels.set(images.data);
  return validateDataset({ images: pixels, labels: Int32Array.from(labels.data), height, width, channels: 1, classes }, files.images);
}

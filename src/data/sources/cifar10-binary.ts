// CIFAR-10's official binary layout: files of 3,073-byte records, each one label byte followed by
// a 32x32 image as three 1,024-byte planes (R, G, B). Converted here to interleaved NHWC.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from './cifar10-constants.js';
import { DataFileError } from '../data-error.js';
import { sharedBytes, type ImageDataset } from '../dataset.js';
import { InputFileError, readInputFile } from '../../util/input-file.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

export const CIFAR10_TRAIN_BATCHES: readonly string[] = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_BATCHES: readonly string[] = ['test_batch.bin'];

export function cifarBatchFiles(split: 'train' | 'test'): readonly string[] {
  return split === 'train' ? CIFAR10_TRAIN_BATCHES : CIFAR10_TEST_BATCHES;
}

/** Number of records in a batch file's bytes; `file` names it in errors. */
function recordCount(bytes: Uint8Array, file: string): number {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataFileError(
      file,
      `size ${bytes.length} bytes is not a positive multiple of the ${RECORD}-byte CIFAR-10 record (truncated or not a CIFAR-10 batch)`,
    );
  }
  return bytes.length / RECORD;
}

/** Decodes batch files (given in order, with their names for errors) into one dataset. */
export function parseCifarBatches(batches: { file: string; bytes: Uint8Array }[]): ImageDataset {
  const counts = batches.map(({ file, bytes }) => recordCount(bytes, file));
  const total = counts.reduce((a, b) => a + b, 0);
  const images = sharedBytes(total * PLANE * 3);
  const labels = new Int32Array(total);
  let n = 0;
  batches.forEach(({ file, bytes }, b) => {
    for (let r = 0; r < counts[b]; r++, n++) {
      const record = r * RECORD;
      const label = bytes[record];
      if (label >= CIFAR10_CLASSES.length) {
        throw new DataFileError(file, `record ${r} has label ${label}; CIFAR-10 labels are 0..9`);
      }
      labels[n] = label;
      const red = record + 1;
      const green = red + PLANE;
      const blue = green + PLANE;
      let out = n * PLANE * 3;
      for (let p = 0; p < PLANE; p++) {
        images[out++] = bytes[red + p];
        images[out++] = bytes[green + p];
        images[out++] = bytes[blue + p];
      }
    }
  });
  return { images, labels, height: SIDE, width: SIDE, channels: 3, classes: [...CIFAR10_CLASSES] };
}

/** The folder holding the .bin files: `dir` itself or its `cifar-10-batches-bin/` child. */
export async function findCifarBatchFolder(dir: string): Promise<string | undefined> {
  for (const candidate of [dir, join(dir, 'cifar-10-batches-bin')]) {
    const info = await stat(join(candidate, 'test_batch.bin')).catch(() => undefined);
    const train = await stat(join(candidate, 'data_batch_1.bin')).catch(() => undefined);
    if (info?.isFile() || train?.isFile()) return candidate;
  }
  return undefined;
}

/** Loads one split from an extracted `cifar-10-batches-bin/` folder. */
export async function loadCifarBinaryFolder(folder: string, split: 'train' | 'test'): Promise<ImageDataset> {
  const batches = [];
  for (const name of cifarBatchFiles(split)) {
    const file = join(folder, name);
    const bytes = await readInputFile(file, { what: 'CIFAR-10 batch', maxBytes: 64 * 1024 ** 2 }).catch((error: Error) => {
      throw new DataFileError(file, `cannot read CIFAR-10 batch (${error instanceof InputFileError ? error.reason : error.message})`, { cause: error });
    });
    batches.push({ file, bytes });
  }
  return parseCifarBatches(batches);
}

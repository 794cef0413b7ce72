// Reads a CIFAR-10 archive, whichever of the two known layouts it holds: the official binary
// release (cifar-10-batches-bin/*.bin, read in one streaming pass) or an image-folder export
// (<split>/<class>/*.jpg, optionally under one top folder: listed in the first pass, then decoded
// by decodeLayout in a second pass that reads only the listed images).

import { basename } from 'node:path';
import { cifarBatchFiles, parseCifarBatches } from './cifar10-binary.js';
import { DataFileError } from '../data-error.js';
import type { ImageDataset } from '../dataset.js';
import type { ImageEntry } from './dataset-source.js';
import { isImageFileName } from '../image-decode.js';
import { decodeInMemory, emptyClassFolderError, type ImageFolderOptions } from './image-folder.js';
import { readTarFile } from './tar-reader.js';

export type CifarSplit = 'train' | 'test';

export async function readCifar10Archive(
  file: string,
  splits: readonly CifarSplit[],
  options: ImageFolderOptions = {},
): Promise<Map<CifarSplit, ImageDataset>> {
  const wantedBatches = new Set(splits.flatMap((split) => cifarBatchFiles(split)));
  const batchBytes = new Map<string, Buffer>();
  const entries: ImageEntry[] = [];
  /** `<split>/<class>` → the archived class directory, so an empty one is reported. */
  const classFolders = new Map<string, { folder: string; className: string }>();

  // Only the batch files are buffered; images are listed here and read by decodeLayout.
  for await (const entry of readTarFile(file, { select: ({ path }) => wantedBatches.has(basename(path)) })) {
    const parts = entry.path.split('/').filter((part) => part !== '');
    if (entry.type === 'directory') {
      const split = parts[parts.length - 2] as CifarSplit;
      if (parts.length >= 2 && splits.includes(split)) {
        const key = `${split}/${parts[parts.length - 1]}`;
        if (!classFolders.has(key)) classFolders.set(key, { folder: `${file}:${entry.path}`, className: parts[parts.length - 1] });
      }
      continue;
    }
    if (entry.type !== 'file') continue;
    const name = basename(entry.path);
    if (wantedBatches.has(name) && !entry.skipped) {
      batchBytes.set(name, entry.data);
    } else if (parts.length >= 3 && isImageFileName(name) && splits.includes(parts[parts.length - 3] as CifarSplit)) {
      entries.push({ path: entry.path, split: parts[parts.length - 3] as CifarSplit, className: parts[parts.length - 2] });
    }
  }

  const result = new Map<CifarSplit, ImageDataset>();
  if (batchBytes.size > 0) {
    for (const split of splits) {
      const batches = cifarBatchFiles(split).map((name) => {
        const bytes = batchBytes.get(name);
        if (!bytes) throw new DataFileError(file, `archive has no ${name} (needed for the ${split} split)`);
        return { file: `${file}:${name}`, bytes };
      });
      result.set(split, parseCifarBatches(batches));
    }
    return result;
  }
  const present = new Set(entries.map((e) => `${e.split}/${e.className}`));
  for (const [key, { folder, className }] of classFolders) if (!present.has(key)) throw emptyClassFolderError(folder, className);
  for (const split of splits) {
    if (!entries.some((e) => e.split === split)) {
      throw new DataFileError(
        file,
        entries.length === 0
          ? 'archive holds neither cifar-10-batches-bin/*.bin nor <split>/<class>/<image> entries'
          : `archive has no images under ${split}/<class>/`,
      );
    }
  }
  const decoded = await decodeInMemory('image-archive', file, { kind: 'split', entries }, options);
  for (const split of splits) result.set(split, decoded.get(split)!);
  return result;
}

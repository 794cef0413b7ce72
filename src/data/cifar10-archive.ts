// Reads a CIFAR-10 archive in one streaming pass, whichever of the two known layouts it holds:
// the official binary release (cifar-10-batches-bin/*.bin) or an image-folder export
// (<split>/<class>/*.jpg, optionally under one top folder).

import { basename } from 'node:path';
import { cifarBatchFiles, parseCifarBatches } from './cifar10-binary.js';
import { DataFileError } from './data-error.js';
import type { ImageDataset } from './dataset.js';
import { isImageFileName } from './image-decode.js';
import { ImageCollector, type ImageCollectorOptions } from './image-collector.js';
import { readTarFile } from './tar-reader.js';

export type CifarSplit = 'train' | 'test';

export async function readCifar10Archive(
  file: string,
  splits: readonly CifarSplit[],
  options: ImageCollectorOptions = {},
): Promise<Map<CifarSplit, ImageDataset>> {
  const wantedBatches = new Set(splits.flatMap((split) => cifarBatchFiles(split)));
  const batchBytes = new Map<string, Buffer>();
  const collector = new ImageCollector(options);
  let imageCount = 0;

  const wanted = (path: string): boolean => {
    const parts = path.split('/').filter((part) => part !== '');
    const name = parts[parts.length - 1] ?? '';
    return wantedBatches.has(name) || (parts.length >= 3 && isImageFileName(name) && splits.includes(parts[parts.length - 3] as CifarSplit));
  };
  // Entries nobody reads (the other split's images, stray files) are streamed past, not buffered.
  for await (const entry of readTarFile(file, { select: ({ path }) => wanted(path) })) {
    if (entry.skipped) continue;
    const parts = entry.path.split('/').filter((part) => part !== '');
    if (entry.type === 'directory') {
      // <split>/<class>/ folders are remembered so an empty one is reported.
      const split = parts[parts.length - 2] as CifarSplit;
      if (parts.length >= 2 && splits.includes(split)) {
        collector.addClassFolder(split, parts[parts.length - 1], `${file}:${entry.path}`);
      }
      continue;
    }
    if (entry.type !== 'file') continue;
    const name = basename(entry.path);
    if (wantedBatches.has(name)) {
      batchBytes.set(name, entry.data);
    } else if (parts.length >= 3 && isImageFileName(name) && splits.includes(parts[parts.length - 3] as CifarSplit)) {
      imageCount++;
      await collector.add(parts[parts.length - 3], parts[parts.length - 2], `${file}:${entry.path}`, entry.data);
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
  const decoded = await collector.finish(splits);
  for (const split of splits) {
    const dataset = decoded.get(split);
    if (!dataset) {
      throw new DataFileError(
        file,
        imageCount === 0
          ? 'archive holds neither cifar-10-batches-bin/*.bin nor <split>/<class>/<image> entries'
          : `archive has no images under ${split}/<class>/`,
      );
    }
    result.set(split, dataset);
  }
  return result;
}

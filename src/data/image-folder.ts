// Datasets stored as folders of images: `root/<class>/*.{jpg,jpeg,png,webp}`, or with a split
// level above the classes, `root/<split>/<class>/*` (train/test as in ImageNet-style exports).

import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readInputFile } from '../util/input-file.js';
import { MAX_IMAGE_FILE_BYTES } from './image-inputs.js';
import { DataFileError } from './data-error.js';
import type { ImageDataset } from './dataset.js';
import { isImageFileName } from './image-decode.js';
import { ImageCollector, type ImageCollectorOptions } from './image-collector.js';

export type ImageFolderOptions = ImageCollectorOptions;

async function listDirectories(folder: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new DataFileError(folder, `cannot read folder (${(error as Error).message})`, { cause: error });
  }
  return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
}

async function queueClassFolders(collector: ImageCollector, split: string, root: string): Promise<void> {
  const classNames = await listDirectories(root);
  if (classNames.length === 0) {
    throw new DataFileError(root, 'no class folders found; expected <root>/<class>/*.jpg|png|webp');
  }
  for (const className of classNames) {
    const folder = join(root, className);
    collector.addClassFolder(split, className, folder);
    const files = (await readdir(folder, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && isImageFileName(entry.name))
      .map((entry) => entry.name);
    for (const name of files) {
      const file = join(folder, name);
      await collector.add(split, className, file, () => readInputFile(file, { what: 'image', maxBytes: MAX_IMAGE_FILE_BYTES }));
    }
  }
}

/** Loads `root/<class>/*` into one dataset; classes ordered as described in class-order.ts. */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageDataset> {
  const collector = new ImageCollector(options);
  await queueClassFolders(collector, '', root);
  return (await collector.finish(['']))!.get('')!;
}

/** Loads `root/<split>/<class>/*` for each requested split, sharing one class list. */
export async function loadSplitImageFolder(
  root: string,
  splits: readonly string[],
  options: ImageFolderOptions = {},
): Promise<Map<string, ImageDataset>> {
  const collector = new ImageCollector(options);
  for (const split of splits) {
    const folder = join(root, split);
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) throw new DataFileError(folder, `missing split folder "${split}"`);
    await queueClassFolders(collector, split, folder);
  }
  return collector.finish(splits);
}

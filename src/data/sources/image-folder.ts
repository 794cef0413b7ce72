// Datasets stored as folders of images: `root/<class>/*.{jpg,jpeg,png,webp}`, or with a split
// level above the classes, `root/<split>/<class>/*` (train/test as in ImageNet-style exports).
// The class folders are listed here; decoding is layout-decoder.ts's (`decodeLayout`), the one
// folder/archive decoder.

import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataFileError } from '../data-error.js';
import type { ImageDataset } from '../dataset.js';
import type { ClassFolderLayout, ImageEntry } from './dataset-source.js';
import { type DecodeOptions, IMAGE_EXTENSIONS, isImageFileName } from '../image-decode.js';
import { decodeLayout } from '../layout-decoder.js';

export interface ImageFolderOptions extends DecodeOptions {
  /** Decodes in flight at once (default 16). */
  concurrency?: number;
}

export type FolderSplit = 'train' | 'test';

/** The message for a class folder (or archived class directory) that holds no image. */
export function emptyClassFolderError(folder: string, className: string): DataFileError {
  return new DataFileError(folder, `empty class folder: no ${IMAGE_EXTENSIONS.join('/')} images for class "${className}"`);
}

async function listDirectories(folder: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new DataFileError(folder, `cannot read folder (${(error as Error).message})`, { cause: error });
  }
  return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
}

/** The images of `<root>/<prefix><class>/*`, as layout entries relative to `root`. */
async function listClassFolders(root: string, split: FolderSplit | '', prefix: string): Promise<ImageEntry[]> {
  const folder = prefix === '' ? root : join(root, prefix);
  const classNames = await listDirectories(folder);
  if (classNames.length === 0) {
    throw new DataFileError(folder, 'no class folders found; expected <root>/<class>/*.jpg|png|webp');
  }
  const entries: ImageEntry[] = [];
  for (const className of classNames) {
    const classFolder = join(folder, className);
    const files = (await readdir(classFolder, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && isImageFileName(entry.name))
      .map((entry) => entry.name);
    if (files.length === 0) throw emptyClassFolderError(classFolder, className);
    for (const name of files) entries.push({ path: `${prefix}${className}/${name}`, split, className });
  }
  return entries;
}

/** Decodes a folder or archive layout into memory, one dataset per planned split. */
export async function decodeInMemory(
  kind: 'image-folder' | 'image-archive',
  path: string,
  layout: ClassFolderLayout,
  options: ImageFolderOptions,
): Promise<Map<FolderSplit, ImageDataset>> {
  const { concurrency, ...decode } = options;
  return (await decodeLayout({ kind, path, identity: [] }, layout, decode, undefined, concurrency)).datasets;
}

/** Loads `root/<class>/*` into one dataset; classes ordered as described in class-order.ts. */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageDataset> {
  const entries = await listClassFolders(root, '', '');
  return (await decodeInMemory('image-folder', root, { kind: 'single', entries }, options)).get('train')!;
}

/** Loads `root/<split>/<class>/*` for each requested split, sharing one class list. */
export async function loadSplitImageFolder(
  root: string,
  splits: readonly FolderSplit[],
  options: ImageFolderOptions = {},
): Promise<Map<FolderSplit, ImageDataset>> {
  const entries: ImageEntry[] = [];
  for (const split of splits) {
    const folder = join(root, split);
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) throw new DataFileError(folder, `missing split folder "${split}"`);
    entries.push(...(await listClassFolders(root, split, `${split}/`)));
  }
  const decoded = await decodeInMemory('image-folder', root, { kind: 'split', entries }, options);
  return new Map(splits.map((split) => [split, decoded.get(split)!]));
}

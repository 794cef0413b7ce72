// Recognises what a dataset source is and how its images are laid out, before anything is decoded:
//   cifar10      the official CIFAR-10 binary release (URL, archive, or extracted folder)
//   idx          an MNIST-format folder: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
//                optionally t10k-… for the test split and classes.txt for class names
//   image-folder / image-archive (.zip, .tar, .tar.gz) with images laid out as either
//     split:     train/<class>/… and test/<class>/… (or val/), under any top folders; other
//                folders (e.g. MVTec AD's ground_truth/) are ignored; test may hold classes
//                train lacks (one-class data: train/good/, test/good/, test/<defect>/)
//     single:    <class>/… only, split later into train and validation (seeded, stratified)

import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { archiveKind, LIST_ONLY, readArchiveFile } from './archive-reader.js';
import { CIFAR10_TEST_BATCHES, CIFAR10_TRAIN_BATCHES, findCifarBatchFolder } from './cifar10-binary.js';
import { DataFileError } from '../data-error.js';
import { isImageFileName } from '../image-decode.js';
import { readInputFile } from '../../util/input-file.js';

export type SourceKind = 'cifar10' | 'idx' | 'image-folder' | 'image-archive';

/** Where one image goes: its split ('' in a single tree) and class (its parent folder). */
export interface ImageEntry {
  path: string;
  split: 'train' | 'test' | '';
  className: string;
}

/**
 * How a folder's or archive's images sit in class folders (not `anomaly.ImageLayout`, which is a
 * tensor's 'nchw' | 'nhwc' order).
 */
export interface ClassFolderLayout {
  kind: 'split' | 'single';
  /** The images used, in listing order. */
  entries: ImageEntry[];
  /** What the held-out split is called in the source ('test' or 'val'), for messages. */
  heldOutFolder?: string;
}

export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages?: string;
  testLabels?: string;
  classesFile?: string;
}

export interface DatasetSource {
  kind: SourceKind;
  /** Absolute path of the file or folder (for 'cifar10', whatever loadCifar10 accepts, URLs included). */
  path: string;
  /** Facts that change when the source's contents change (path, sizes, mtimes). */
  identity: (string | number)[];
  /** For image folders (archives are listed on demand: imageLayoutOf). */
  layout?: ClassFolderLayout;
  /** For IDX folders. */
  idx?: IdxFiles;
}

const SPLIT_FOLDERS: Record<string, 'train' | 'test'> = { train: 'train', test: 'test', val: 'test', valid: 'test', validation: 'test' };

/** Splits relative image paths into a layout; `origin` names the source in errors. */
export function detectClassFolderLayout(paths: readonly string[], origin: string): ClassFolderLayout {
  const split: ImageEntry[] = [];
  const single: ImageEntry[] = [];
  for (const path of paths) {
    if (!isImageFileName(path)) continue;
    const parts = path.split('/').filter((p) => p !== '');
    if (parts.length < 2) continue;
    const className = parts[parts.length - 2];
    const splitFolder = parts.length >= 3 ? SPLIT_FOLDERS[parts[parts.length - 3].toLowerCase()] : undefined;
    if (splitFolder) split.push({ path, split: splitFolder, className });
    else single.push({ path, split: '', className });
  }
  if (split.length > 0) {
    const folders = new Set(split.map((e) => e.path.split('/').at(-3)!.toLowerCase()));
    // A test/ folder wins over val/ when both exist; val then plays no part.
    const heldOut = folders.has('test') ? 'test' : [...folders].find((f) => f !== 'train');
    const entries = split.filter((e) => {
      const folder = e.path.split('/').at(-3)!.toLowerCase();
      return folder === 'train' || folder === heldOut;
    });
    if (!entries.some((e) => e.split === 'train')) {
      throw new DataFileError(origin, `found ${heldOut}/<class>/ images but no train/<class>/ images; a dataset needs training images`);
    }
    // train/ alone: a single tree under train/, split by the validation fraction.
    if (heldOut === undefined) return { kind: 'single', entries: entries.map((e) => ({ ...e, split: '' })) };
    return { kind: 'split', entries, heldOutFolder: heldOut };
  }
  if (single.length === 0) {
    throw new DataFileError(origin, 'no images found; expected <class>/<image> or train/<class>/<image> + test/<class>/<image> (.jpg, .jpeg, .png, .webp)');
  }
  return { kind: 'single', entries: single };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function firstExisting(folder: string, names: string[]): Promise<string | undefined> {
  for (const name of names) if (await exists(join(folder, name))) return join(folder, name);
  return undefined;
}

/** The IDX files of an MNIST-format folder, or undefined when it is not one. */
export async function findIdxFiles(folder: string): Promise<IdxFiles | undefined> {
  const pick = (stem: string) => firstExisting(folder, [stem, `${stem}.gz`, stem.replace(/-idx(\d)-/, '.idx$1-'), `${stem.replace(/-idx(\d)-/, '.idx$1-')}.gz`]);
  const trainImages = await pick('train-images-idx3-ubyte');
  if (!trainImages) return undefined;
  const trainLabels = await pick('train-labels-idx1-ubyte');
  if (!trainLabels) throw new DataFileError(folder, `has ${basename(trainImages)} but no train-labels-idx1-ubyte[.gz]`);
  const testImages = await pick('t10k-images-idx3-ubyte');
  const testLabels = await pick('t10k-labels-idx1-ubyte');
  if (Boolean(testImages) !== Boolean(testLabels)) {
    throw new DataFileError(folder, 'has only one of t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]; both are needed for the test split');
  }
  return { trainImages, trainLabels, testImages, testLabels, classesFile: await firstExisting(folder, ['classes.txt']) };
}

/** Class names from a classes.txt: one per line, blank lines ignored. */
export async function readClassNames(file: string): Promise<string[]> {
  const names = (await readInputFile(file, { what: 'class names file', maxBytes: 16 * 1024 ** 2 })).toString('utf8').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length === 0) throw new DataFileError(file, 'holds no class names (expected one per line)');
  if (new Set(names).size !== names.length) throw new DataFileError(file, 'lists a class name twice');
  return names;
}

/** Every file under a folder, as '/'-separated paths relative to it (hidden entries skipped). */
async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((error: Error) => {
    throw new DataFileError(root, `cannot read folder (${error.message})`, { cause: error });
  });
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    // Node 20 names the parent as `path` (deprecated later for `parentPath`).
    const parent = (entry as unknown as { parentPath?: string; path: string }).parentPath ?? (entry as unknown as { path: string }).path;
    const path = relative(root, join(parent, entry.name)).split(sep).join('/');
    if (path.split('/').some((part) => part.startsWith('.'))) continue;
    files.push(path);
  }
  return files.sort();
}

/** Paths of an archive's file entries, in archive order (one pass without decoding). */
async function listArchive(file: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of readArchiveFile(file, LIST_ONLY)) if (entry.type === 'file') paths.push(entry.path);
  return paths;
}

const CIFAR_BATCH_NAMES = new Set([...CIFAR10_TRAIN_BATCHES, ...CIFAR10_TEST_BATCHES]);

/** What `source` (a path; URLs are CIFAR-10 downloads) is, without decoding it. */
export async function describeDatasetSource(source: string): Promise<DatasetSource> {
  if (/^https?:\/\//i.test(source)) return { kind: 'cifar10', path: source, identity: [source] };
  const path = resolve(source);
  const info = await stat(path).catch((error: Error) => {
    throw new DataFileError(path, `dataset source not found (${error.message})`, { cause: error });
  });
  if (info.isFile()) {
    const identity = [path, info.size, info.mtimeMs];
    // The first telling entry decides; the full listing waits until decoding is needed (imageLayoutOf).
    for await (const entry of readArchiveFile(path, LIST_ONLY)) {
      if (entry.type !== 'file') continue;
      if (CIFAR_BATCH_NAMES.has(basename(entry.path)) || entry.path.includes('cifar-10-batches-bin/')) return { kind: 'cifar10', path, identity };
      if (/(^|\/)(train|t10k)-(images|labels)[.-]idx[13]-ubyte(\.gz)?$/.test(entry.path)) {
        throw new DataFileError(path, `holds MNIST-format IDX files; extract the ${await archiveKind(path)} archive and pass the folder to --data`);
      }
      if (isImageFileName(entry.path)) break;
    }
    return { kind: 'image-archive', path, identity };
  }
  const idx = await findIdxFiles(path);
  if (idx) {
    const identity: (string | number)[] = [path];
    for (const file of Object.values(idx).filter((f): f is string => Boolean(f))) {
      const s = await stat(file);
      identity.push(basename(file), s.size, s.mtimeMs);
    }
    return { kind: 'idx', path, identity, idx };
  }
  const batchFolder = await findCifarBatchFolder(path);
  if (batchFolder) {
    const identity: (string | number)[] = [batchFolder];
    for (const name of CIFAR_BATCH_NAMES) {
      const s = await stat(join(batchFolder, name)).catch(() => undefined);
      identity.push(name, s?.size ?? -1, s?.mtimeMs ?? -1);
    }
    return { kind: 'cifar10', path, identity };
  }
  const paths = await listFiles(path);
  const layout = detectClassFolderLayout(paths, path);
  // Names, sizes and mtimes of the images used: any added, removed or rewritten image changes the key.
  const identity: (string | number)[] = [path];
  for (const entry of layout.entries) {
    const s = await stat(join(path, entry.path));
    identity.push(entry.path, s.size, s.mtimeMs);
  }
  return { kind: 'image-folder', path, identity, layout };
}

/** The image layout of a folder or archive source; lists an archive (one pass, nothing decoded). */
export async function imageLayoutOf(source: DatasetSource): Promise<ClassFolderLayout> {
  if (source.layout) return source.layout;
  if (source.kind !== 'image-archive') throw new TypeError(`Expected an image folder or archive but received a ${source.kind} source`);
  source.layout = detectClassFolderLayout(await listArchive(source.path), source.path);
  return source.layout;
}

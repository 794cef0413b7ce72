// One entry point for CIFAR-10 from whichever source a user has: the official URL, a local copy
// of the official archive, its extracted folder, or an image-folder export (archive or folder).
// Whatever the source, the decoded splits are cached as .dmcache files keyed by the source's
// identity, so only the first run pays for decoding.

import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { checkChoice } from '../../tensor/checks.js';
import { readCifar10Archive, type CifarSplit } from './cifar10-archive.js';
import { cifarBatchFiles, findCifarBatchFolder, loadCifarBinaryFolder } from './cifar10-binary.js';
import { CIFAR10_BINARY_MD5, CIFAR10_BINARY_URL } from './cifar10-constants.js';
import { DataFileError } from '../data-error.js';
import { cacheKey, defaultCacheDir, folderIdentity, readDatasetCache, tryWriteDatasetCache } from '../cache/dataset-cache.js';
import type { ImageDataset } from '../dataset.js';
import { downloadFile, verifyMd5 } from './download.js';
import { loadSplitImageFolder } from './image-folder.js';

/** Bumped when decoding changes, so caches from older code are not reused. */
const CACHE_FORMAT = 1;

/** The image-folder copy of CIFAR-10 shipped beside the project on these machines. */
export const SHARED_CIFAR10_ARCHIVE = '../shared/datasets/cifar10-jpeg.tar.gz';

export interface Cifar10Options {
  /**
   * An http(s) URL, a .tar.gz/.tgz/.tar archive (official binary or image-folder layout), an
   * extracted `cifar-10-batches-bin/` folder (or its parent), or a folder with `train/<class>/`
   * and `test/<class>/`. Default: `DEEPMETRIC_CIFAR10`, then a previous download in the cache,
   * then ../shared/datasets/cifar10-jpeg.tar.gz, then the official URL.
   */
  source?: string;
  /** Where downloads and decoded caches live. Default: `DEEPMETRIC_CACHE` or .cache/deepmetric. */
  cacheDir?: string;
  split?: CifarSplit | 'both';
  /**
   * Expected MD5 of the archive. Default: the official MD5 for the official URL and for local
   * files named cifar-10-binary.tar.gz; null skips the check.
   */
  md5?: string | null;
  /** Read and write the decoded cache (default true). */
  cache?: boolean;
  /** Progress bar on stderr while downloading (default true). */
  progress?: boolean;
  /** Refuse images with more pixels than this before decoding them (default DEFAULT_MAX_IMAGE_PIXELS). */
  maxImagePixels?: number;
}

export interface Cifar10Splits {
  train: ImageDataset;
  test: ImageDataset;
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Which source `loadCifar10` will use, following the documented order of defaults. */
export async function resolveCifar10Source(options: Pick<Cifar10Options, 'source' | 'cacheDir'> = {}): Promise<string> {
  if (options.source) return options.source;
  if (process.env.DEEPMETRIC_CIFAR10) return process.env.DEEPMETRIC_CIFAR10;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const downloaded = join(cacheDir, 'downloads', basename(new URL(CIFAR10_BINARY_URL).pathname));
  if (await exists(downloaded)) return downloaded;
  const shared = resolve(process.cwd(), SHARED_CIFAR10_ARCHIVE);
  if (await exists(shared)) return shared;
  return CIFAR10_BINARY_URL;
}

function expectedMd5(source: string, options: Cifar10Options): string | undefined {
  if (options.md5 !== undefined) return options.md5 ?? undefined;
  if (source === CIFAR10_BINARY_URL || basename(source) === 'cifar-10-binary.tar.gz') return CIFAR10_BINARY_MD5;
  return undefined;
}

/** A local archive path for a URL source, downloading and verifying it on first use. */
async function fetchSource(url: string, cacheDir: string, options: Cifar10Options): Promise<string> {
  const destination = join(cacheDir, 'downloads', basename(new URL(url).pathname) || 'cifar10.tar.gz');
  if (!(await exists(destination))) {
    await downloadFile(url, destination, { md5: expectedMd5(url, options), progress: options.progress });
  }
  return destination;
}

interface ResolvedSource {
  kind: 'archive' | 'binary-folder' | 'image-folder';
  path: string;
  /** Facts that change when the source's contents change. */
  identity: (string | number)[];
}

async function describeSource(source: string): Promise<ResolvedSource> {
  const path = resolve(source);
  const info = await stat(path).catch((error: Error) => {
    throw new DataFileError(path, `CIFAR-10 source not found (${error.message}); set DEEPMETRIC_CIFAR10 or pass source`, { cause: error });
  });
  if (info.isFile()) return { kind: 'archive', path, identity: [path, info.size, info.mtimeMs] };
  const batchFolder = await findCifarBatchFolder(path);
  if (batchFolder) {
    const identity: (string | number)[] = [batchFolder];
    for (const name of [...cifarBatchFiles('train'), ...cifarBatchFiles('test')]) {
      const batch = await stat(join(batchFolder, name)).catch(() => undefined);
      identity.push(name, batch?.size ?? -1, batch?.mtimeMs ?? -1);
    }
    return { kind: 'binary-folder', path: batchFolder, identity };
  }
  if ((await exists(join(path, 'train'))) || (await exists(join(path, 'test')))) {
    // Every file's size and mtime: an image overwritten in place changes no folder's mtime.
    const identity: (string | number)[] = [path];
    for (const split of ['train', 'test']) identity.push(split, await folderIdentity(join(path, split)));
    return { kind: 'image-folder', path, identity };
  }
  throw new DataFileError(path, 'folder holds neither cifar-10-batches-bin/*.bin files nor train/<class>/ and test/<class>/ image folders');
}

async function decodeSplits(source: ResolvedSource, splits: CifarSplit[], options: Cifar10Options): Promise<Map<CifarSplit, ImageDataset>> {
  if (source.kind === 'archive') {
    const md5 = expectedMd5(source.path, options);
    if (md5) await verifyMd5(source.path, md5);
    return readCifar10Archive(source.path, splits, { maxImagePixels: options.maxImagePixels });
  }
  if (source.kind === 'binary-folder') {
    const result = new Map<CifarSplit, ImageDataset>();
    for (const split of splits) result.set(split, await loadCifarBinaryFolder(source.path, split));
    return result;
  }
  return (await loadSplitImageFolder(source.path, splits, { maxImagePixels: options.maxImagePixels }));
}

export function loadCifar10(options: Cifar10Options & { split: CifarSplit }): Promise<ImageDataset>;
export function loadCifar10(options?: Cifar10Options & { split?: 'both' }): Promise<Cifar10Splits>;
export function loadCifar10(options?: Cifar10Options): Promise<ImageDataset | Cifar10Splits>;
export async function loadCifar10(options: Cifar10Options = {}): Promise<ImageDataset | Cifar10Splits> {
  const split = checkChoice(options.split ?? 'both', 'split', ['train', 'test', 'both'] as const);
  const splits: CifarSplit[] = split === 'both' ? ['train', 'test'] : [split];
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  let source = await resolveCifar10Source({ ...options, cacheDir });
  if (isUrl(source)) source = await fetchSource(source, cacheDir, options);
  const resolved = await describeSource(source);

  const datasets = new Map<CifarSplit, ImageDataset>();
  const cacheFile = (s: CifarSplit) => join(cacheDir, `cifar10-${cacheKey(['cifar10', CACHE_FORMAT, resolved.kind, ...resolved.identity, s])}-${s}.dmcache`);
  if (options.cache !== false) {
    for (const s of splits) {
      if (!(await exists(cacheFile(s)))) continue;
      try {
        datasets.set(s, await readDatasetCache(cacheFile(s)));
      } catch (error) {
        process.emitWarning(`${(error as Error).message}; rebuilding it`, { code: 'DEEPMETRIC_CACHE_REBUILD' });
      }
    }
  }
  const missing = splits.filter((s) => !datasets.has(s));
  if (missing.length > 0) {
    const decoded = await decodeSplits(resolved, missing, options);
    for (const s of missing) {
      const dataset = decoded.get(s)!;
      if (options.cache !== false) await tryWriteDatasetCache(cacheFile(s), dataset, resolved.path);
      datasets.set(s, dataset);
    }
  }
  if (split !== 'both') return datasets.get(split)!;
  return { train: datasets.get('train')!, test: datasets.get('test')! };
}

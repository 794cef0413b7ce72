// One entry point for every command and library user that reads images: CIFAR-10 from any of its
// sources (the default), image folders and archives (.zip, .tar, .tar.gz) in a train/test or a
// single <class>/ layout, and MNIST-format IDX folders. Images are resized and converted to the
// requested channels, decoded once into .dmcache files keyed by the source's identity and the
// decode settings, and returned in memory or, for datasets too large for it, as file-backed
// datasets read batch by batch.

import { rm, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { checkNumber, checkChoice } from '../tensor/checks.js';
import { loadCifar10, resolveCifar10Source } from './sources/cifar10.js';
import { DataFileError } from './data-error.js';
import { cacheKey, defaultCacheDir, isCacheWriteError, readDatasetCache, tryWriteDatasetCache } from './cache/dataset-cache.js';
import type { ImageDataset } from './dataset.js';
import { describeDatasetSource, imageLayoutOf, readClassNames, type DatasetSource, type SourceKind } from './sources/dataset-source.js';
import type { AnyImageDataset } from './cache/file-image-dataset.js';
import { decodeLayout } from './layout-decoder.js';
import type { DecodeOptions, ResizeOptions } from './image-decode.js';
import { loadMnist } from './sources/mnist-idx.js';
import { chooseNormalization, NORMALIZATIONS, type InputNormalization, type NormalizationName } from './normalization.js';
import { resizeDataset } from './resize-dataset.js';
import { trainValidationSplit } from './splits.js';
import { openDatasetCache } from './cache/streamed-cache.js';
import { CIFAR10_CLASSES } from './sources/cifar10-constants.js';

/** Bumped when decoding changes, so caches from older code are not reused. */
const CACHE_FORMAT = 1;

export const RESIZE_FITS = ['cover', 'contain', 'fill'] as const;
export type ResizeFit = (typeof RESIZE_FITS)[number];

export interface LoadDatasetOptions {
  /** A CIFAR-10 source (URL, official archive or folder), an image folder or archive, or an IDX folder. Default: CIFAR-10's defaults (see loadCifar10). */
  source?: string;
  /** Resize every image to N×N, `{ width, height }`, or 'N' / 'WxH'. Default: keep sizes (they must then agree). */
  imageSize?: number | string | { width: number; height: number };
  /** How a resize keeps the aspect ratio: 'cover' (default: scale to fill, centre-crop), 'contain' (letterbox in black), 'fill' (stretch). */
  resize?: ResizeFit;
  /** 3 (default; gray replicated, alpha dropped) or 1 (luminance). */
  channels?: 1 | 3;
  /** Held out for validation from a single <class>/ tree (or a train/-only layout): seeded and stratified. Default 0.2. */
  valFraction?: number;
  /** Seeds the validation split. Default 0. */
  seed?: number;
  /** Default 'unit' (pixels/255). See normalization.ts. */
  normalize?: NormalizationName;
  /** Where downloads and decoded caches live. Default: DEEPMETRIC_CACHE or .cache/deepmetric. */
  cacheDir?: string;
  /** Read and write the decoded cache (default true). */
  cache?: boolean;
  /**
   * Keep the pixels in their cache files and read batches from disk: true, false, or 'auto'
   * (default: when the decoded pixels exceed `memoryLimitBytes`).
   */
  stream?: boolean | 'auto';
  /** The 'auto' threshold; default min(2 GiB, a quarter of the machine's memory). */
  memoryLimitBytes?: number;
  /** Images with more pixels are refused from their header, before decoding. Default DEFAULT_MAX_IMAGE_PIXELS (40 million). */
  maxImagePixels?: number;
}

/** What a model trained on a dataset expects of its images, and how its validation split was drawn. */
export interface DatasetInput {
  height: number;
  width: number;
  channels: number;
  /** The resize applied at decode; null when images kept their size. */
  resize: ResizeOptions | null;
  /** Set when validation was carved out of the training images: the fraction and seed that reproduce it. */
  validation?: { fraction: number; seed: number };
}

export interface LoadedDataset {
  train: AnyImageDataset;
  /** The held-out split: the source's test/ (or val/, t10k) images, else the validation fraction. */
  test: AnyImageDataset;
  /** 'test' when the source has its own held-out images, 'validation' when carved out of the training images. */
  heldOut: 'test' | 'validation';
  /** Label i of both splits names classNames[i]. */
  classNames: string[];
  /** Classes with at least one training image (fewer than classNames in one-class layouts such as MVTec AD). */
  trainClassNames: string[];
  /** Classes with at least one held-out image. */
  testClassNames: string[];
  /** Input scaling for models trained on this data (record it with the model). */
  normalization: InputNormalization;
  /** The decoded image shape, how images were resized and how validation was split off: store it with a model. */
  input: DatasetInput;
  source: { kind: SourceKind; path: string; layout: 'split' | 'single' };
}

/** Parses 'N' or 'WxH' (also accepts a number or an object). */
export function parseImageSize(value: number | string | { width: number; height: number }): { width: number; height: number } {
  if (typeof value === 'object') return { width: checkSide('width', value.width), height: checkSide('height', value.height) };
  if (typeof value === 'number') return { width: checkSide('image size', value), height: checkSide('image size', value) };
  const match = /^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(value);
  if (!match) throw new RangeError(`Expected an image size as N or WxH (e.g. 64 or 96x64) but received ${JSON.stringify(value)}`);
  const width = checkSide('image width', Number(match[1]));
  return { width, height: match[2] === undefined ? width : checkSide('image height', Number(match[2])) };
}

function checkSide(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 8192) throw new RangeError(`Expected integer between 1 and 8192 for ${name} but received ${value}`);
  return value;
}

function defaultMemoryLimit(): number {
  return Math.min(2 ** 31, Math.floor(totalmem() / 4));
}

function presentClasses(dataset: AnyImageDataset): string[] {
  const present = new Uint8Array(dataset.classes.length);
  for (const label of dataset.labels) present[label] = 1;
  return dataset.classes.filter((_, label) => present[label]);
}

async function fileSize(path: string): Promise<number | undefined> {
  return stat(path).then((s) => s.size, () => undefined);
}

/** Decodes a source into its parts: { train, test } for split layouts, { all } for single trees. */
async function decodeSource(source: DatasetSource, decode: DecodeOptions, cacheDir: string): Promise<{ parts: Map<string, ImageDataset>; layout: 'split' | 'single' }> {
  if (source.kind === 'cifar10') {
    const { train, test } = await loadCifar10({ source: source.path, cacheDir, split: 'both', maxImagePixels: decode.maxImagePixels });
    return { parts: new Map([['train', await resizeDataset(train, decode)], ['test', await resizeDataset(test, decode)]]), layout: 'split' };
  }
  if (source.kind === 'idx') {
    const idx = source.idx!;
    const classes = idx.classesFile ? await readClassNames(idx.classesFile) : undefined;
    const train = await loadMnist({ images: idx.trainImages, labels: idx.trainLabels, classes });
    const test = idx.testImages ? await loadMnist({ images: idx.testImages, labels: idx.testLabels!, classes }) : undefined;
    if (!classes) {
      // Without classes.txt, classes are the label indices seen in either split.
      let max = 0;
      for (const part of [train, test]) for (const label of part?.labels ?? []) max = Math.max(max, label);
      const names = Array.from({ length: max + 1 }, (_, i) => String(i));
      train.classes = names;
      if (test) test.classes = names;
    }
    if (test && (test.height !== train.height || test.width !== train.width) && !decode.resize) {
      throw new DataFileError(idx.testImages!, `images are ${test.width}x${test.height} but ${idx.trainImages} holds ${train.width}x${train.height}; pass --image-size N or WxH to resize both`);
    }
    const parts = new Map([['train', await resizeDataset(train, decode)]]);
    if (test) parts.set('test', await resizeDataset(test, decode));
    return { parts, layout: test ? 'split' : 'single' };
  }
  const layout = await imageLayoutOf(source);
  const { datasets } = await decodeLayout(source, layout, decode);
  return { parts: datasets, layout: layout.kind };
}

/**
 * Loads, caches, resizes and splits a dataset; see LoadDatasetOptions for every default.
 * @example
 * ```ts
 * const { train, test, classNames } = await loadDataset({ source: 'photos.zip', imageSize: 64, valFraction: 0.2 });
 * ```
 */
export async function loadDataset(options: LoadDatasetOptions = {}): Promise<LoadedDataset> {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`Expected 1 or 3 for channels but received ${channels}`);
  const fit = checkChoice(options.resize ?? 'cover', 'resize', RESIZE_FITS);
  const size = options.imageSize === undefined ? undefined : parseImageSize(options.imageSize);
  const resize: ResizeOptions | undefined = size ? { ...size, fit } : undefined;
  const valFraction = checkNumber(options.valFraction ?? 0.2, 'valFraction', Number.MIN_VALUE, 0.99);
  const seed = options.seed ?? 0;
  const normalize = checkChoice(options.normalize ?? 'unit', 'normalize', NORMALIZATIONS);
  const stream = options.stream ?? 'auto';
  const useCache = options.cache ?? true;
  if (stream === true && !useCache) throw new RangeError('Expected cache: true with stream: true (batches are read from the cache files) but received cache: false');
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const decode: DecodeOptions = { resize, channels, ...(options.maxImagePixels !== undefined ? { maxImagePixels: options.maxImagePixels } : {}) };

  let source = await describeDatasetSource(await resolveCifar10Source({ source: options.source, cacheDir }));
  // With no source at all, the default found (the shared image-folder archive of CIFAR-10, or a
  // download) is CIFAR-10 whatever its form, and keeps loadCifar10's caches.
  if (options.source === undefined && !process.env.DEEPMETRIC_CIFAR10 && source.kind === 'image-archive') {
    source = { kind: 'cifar10', path: source.path, identity: source.identity };
  }
  let parts: Map<string, AnyImageDataset>;
  let layout: 'split' | 'single';
  const plainCifar = source.kind === 'cifar10' && !resize && channels === 3 && stream !== true;
  if (plainCifar) {
    // CIFAR-10 as it comes: loadCifar10's own caches (shared with the benchmarks and older runs).
    const { train, test } = await loadCifar10({ source: source.path, cacheDir, split: 'both', cache: useCache, maxImagePixels: options.maxImagePixels });
    parts = new Map<string, AnyImageDataset>([['train', train], ['test', test]]);
    layout = 'split';
  } else {
    ({ parts, layout } = await cachedParts(source, decode, cacheDir, { useCache, stream, memoryLimit: options.memoryLimitBytes ?? defaultMemoryLimit() }));
  }

  let train = parts.get('train')!;
  let test = parts.get('test');
  let heldOut: 'test' | 'validation' = 'test';
  if (!test) {
    const split = trainValidationSplit(train, { validation: valFraction, seed });
    train = split.train;
    test = split.validation;
    heldOut = 'validation';
  }
  return {
    train,
    test,
    heldOut,
    classNames: [...train.classes],
    trainClassNames: presentClasses(train),
    testClassNames: presentClasses(test),
    normalization: chooseNormalization(normalize, train, source.kind === 'cifar10' || train.classes.join() === CIFAR10_CLASSES.join()),
    input: {
      height: train.height, width: train.width, channels: train.channels, resize: resize ?? null,
      ...(heldOut === 'validation' ? { validation: { fraction: valFraction, seed } } : {}),
    },
    source: { kind: source.kind, path: source.path, layout },
  };
}

interface CacheChoice {
  useCache: boolean;
  stream: boolean | 'auto';
  memoryLimit: number;
}

/** The decoded parts from their cache files when valid, else decoded (and cached). */
async function cachedParts(source: DatasetSource, decode: DecodeOptions, cacheDir: string, choice: CacheChoice): Promise<{ parts: Map<string, AnyImageDataset>; layout: 'split' | 'single' }> {
  if (!choice.useCache) return decodeSource(source, decode, cacheDir);
  const key = cacheKey(['dataset', CACHE_FORMAT, source.kind, ...source.identity, decode.resize?.width, decode.resize?.height, decode.resize?.fit, decode.channels]);
  const file = (part: string) => join(cacheDir, `dataset-${key}-${part}.dmcache`);
  const streamFor = (bytes: number) => choice.stream === true || (choice.stream === 'auto' && bytes > choice.memoryLimit);
  // A split layout is cached as train + test, a single tree as train only (split on load).
  const readCached = async (): Promise<{ parts: Map<string, AnyImageDataset>; layout: 'split' | 'single' } | undefined> => {
    for (const [layout, names] of [['split', ['train', 'test']], ['single', ['train']]] as const) {
      const sizes = await Promise.all(names.map((name) => fileSize(file(name))));
      if (sizes.some((s) => s === undefined) || (layout === 'single' && (await fileSize(file('test'))) !== undefined)) continue;
      const streamIt = streamFor(sizes.reduce((a, b) => a! + b!, 0)!);
      try {
        const parts = new Map<string, AnyImageDataset>();
        for (const name of names) parts.set(name, streamIt ? await openDatasetCache(file(name)) : await readDatasetCache(file(name)));
        return { parts, layout };
      } catch (error) {
        process.emitWarning(`${(error as Error).message}; rebuilding it`, { code: 'DEEPMETRIC_CACHE_REBUILD' });
        for (const name of names) await rm(file(name), { force: true });
      }
    }
    return undefined;
  };
  const cached = await readCached();
  if (cached) return cached;
  if (source.kind === 'image-folder' || source.kind === 'image-archive') {
    // Decoded straight into the cache files (only the decodes in flight are in memory), then read back.
    const layout = await imageLayoutOf(source);
    const names = layout.kind === 'split' ? (['train', 'test'] as const) : (['train'] as const);
    try {
      await decodeLayout(source, layout, decode, Object.fromEntries(names.map((name) => [name, file(name)])));
    } catch (error) {
      // A full or read-only cache disk costs the cache, not the run: decode again into memory.
      if (!isCacheWriteError(error)) throw error;
      process.emitWarning(`${(error as Error).message}; decoding into memory instead (the cache is written on a later run when there is room)`, { code: 'DEEPMETRIC_CACHE_WRITE' });
      return decodeSource(source, decode, cacheDir);
    }
    const written = await readCached();
    if (!written) throw new DataFileError(file(names[0]), 'dataset cache missing right after it was written');
    return written;
  }
  const decoded = await decodeSource(source, decode, cacheDir);
  const parts = new Map<string, AnyImageDataset>(decoded.parts);
  let bytes = 0;
  let allWritten = true;
  for (const [name, dataset] of decoded.parts) {
    allWritten = (await tryWriteDatasetCache(file(name), dataset as ImageDataset, source.path)) && allWritten;
    bytes += (dataset as ImageDataset).images.length;
  }
  // Once written, a large dataset is read back from disk so its decoded copy can be freed.
  if (allWritten && streamFor(bytes)) {
    for (const name of decoded.parts.keys()) parts.set(name, await openDatasetCache(file(name), { verify: false }));
  }
  return { parts, layout: decoded.layout };
}

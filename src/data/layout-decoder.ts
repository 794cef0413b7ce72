// Decodes the images of a folder or archive layout straight into their final places: the order
// (class, then file name) and the class list are planned from the listing before any image is
// decoded, so each decoded image goes directly to its slot — in a shared buffer, or in the cache
// file being written. With a cache file only the decodes in flight are in memory, so datasets
// larger than memory can be decoded too.

import { readInputFile } from '../util/input-file.js';
import { join } from 'node:path';
import { readArchiveFile } from './sources/archive-reader.js';
import { BoundedPool } from './loading/bounded-pool.js';
import { compareNames, orderClassNames } from './sources/class-order.js';
import { DataFileError } from './data-error.js';
import { sharedBytes, type ImageDataset } from './dataset.js';
import type { DatasetSource, ImageEntry, ClassFolderLayout } from './sources/dataset-source.js';
import { decodeImage, type DecodeOptions } from './image-decode.js';
import { DatasetCacheWriter } from './cache/streamed-cache.js';
import { MAX_IMAGE_FILE_BYTES } from './sources/image-inputs.js';

export interface PlannedSplit {
  /** 'train' and 'test' for split layouts; a single tree is planned as 'train' alone. */
  name: 'train' | 'test';
  /** Images in their final order: by label, then file name. */
  entries: ImageEntry[];
  labels: Int32Array;
}

export interface LayoutPlan {
  classes: string[];
  splits: PlannedSplit[];
}

/** The class list (shared by the splits) and each split's final image order. */
export function planLayout(layout: ClassFolderLayout): LayoutPlan {
  const classes = orderClassNames(layout.entries.map((e) => e.className));
  const labelOf = new Map(classes.map((name, label) => [name, label]));
  const names: Array<'train' | 'test'> = layout.kind === 'split' ? ['train', 'test'] : ['train'];
  const splits = names.map((name) => {
    const entries = layout.entries
      .filter((e) => (layout.kind === 'split' ? e.split === name : true))
      .sort((a, b) => labelOf.get(a.className)! - labelOf.get(b.className)! || compareNames(a.path, b.path));
    return { name, entries, labels: Int32Array.from(entries, (e) => labelOf.get(e.className)!) };
  });
  return { classes, splits };
}

interface Shape {
  height: number;
  width: number;
  channels: number;
  file: string;
}

/** Where one split's decoded images go. */
interface SplitSink {
  write(index: number, pixels: Uint8Array): Promise<void>;
  /** The in-memory dataset, or undefined once the cache file is in place. */
  finish(): Promise<ImageDataset | undefined>;
  abort(): Promise<void>;
}

function memorySink(split: PlannedSplit, classes: string[], shape: Shape, files: string[]): SplitSink {
  const per = shape.height * shape.width * shape.channels;
  const images = sharedBytes(split.labels.length * per);
  let written = 0;
  return {
    async write(index, pixels) {
      images.set(pixels, index * per);
      written++;
    },
    async finish() {
      if (written !== split.labels.length) throw new RangeError(`Expected ${split.labels.length} ${split.name} images but ${written} were decoded (did the source change while it was read?)`);
      return { images, labels: split.labels, height: shape.height, width: shape.width, channels: shape.channels, classes: [...classes], files };
    },
    async abort() {},
  };
}

async function cacheSink(file: string, split: PlannedSplit, classes: string[], shape: Shape, source: string, files: string[]): Promise<SplitSink> {
  const writer = await DatasetCacheWriter.create(file, { count: split.labels.length, height: shape.height, width: shape.width, channels: shape.channels, classes, source, files }, split.labels);
  return {
    write: (index, pixels) => writer.writeAt(index, pixels),
    async finish() {
      await writer.finish();
      return undefined;
    },
    abort: () => writer.abort(),
  };
}

/**
 * Decodes every planned image of a folder or archive source. With `cacheFiles` (split name →
 * path) each split is written to its cache file and nothing is returned in memory; without, the
 * splits come back as in-memory datasets.
 */
export async function decodeLayout(
  source: DatasetSource,
  layout: ClassFolderLayout,
  decode: DecodeOptions,
  cacheFiles?: Partial<Record<'train' | 'test', string>>,
  concurrency = 16,
): Promise<{ plan: LayoutPlan; datasets: Map<'train' | 'test', ImageDataset> }> {
  const plan = planLayout(layout);
  const slots = new Map<string, { split: number; index: number }>();
  for (const [s, split] of plan.splits.entries()) {
    for (const [index, entry] of split.entries.entries()) slots.set(entry.path, { split: s, index });
  }
  let shape: Shape | undefined;
  let sinks: Promise<SplitSink[]> | undefined;
  // Each image's name, as errors and nearest-neighbour reports show it.
  const nameOf = (entry: ImageEntry): string => (source.kind === 'image-folder' ? join(source.path, entry.path) : `${source.path}:${entry.path}`);
  const openSinks = async (known: Shape): Promise<SplitSink[]> => {
    const opened = await Promise.allSettled(plan.splits.map((split) => {
      const file = cacheFiles?.[split.name];
      const files = split.entries.map(nameOf);
      return file ? cacheSink(file, split, plan.classes, known, source.path, files) : Promise.resolve(memorySink(split, plan.classes, known, files));
    }));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (!failed) return opened.map((o) => (o as PromiseFulfilledResult<SplitSink>).value);
    // One cache file could not be created: close the others rather than leak their descriptors.
    for (const o of opened) if (o.status === 'fulfilled') await o.value.abort();
    throw failed.reason;
  };
  const place = async (entry: ImageEntry, name: string, data: Buffer): Promise<void> => {
    const image = await decodeImage(data, name, decode);
    if (!shape) {
      shape = { height: image.height, width: image.width, channels: image.channels, file: name };
      sinks = openSinks(shape);
    } else if (shape.height !== image.height || shape.width !== image.width || shape.channels !== image.channels) {
      throw new DataFileError(name, `image is ${image.width}x${image.height} but ${shape.file} is ${shape.width}x${shape.height}; ` +
        'images of different sizes need resizing to one size: pass --image-size N or WxH (loadDataset: imageSize), with --resize cover|contain|fill');
    }
    const slot = slots.get(entry.path)!;
    await (await sinks!)[slot.split].write(slot.index, image.pixels);
  };

  const pool = new BoundedPool(concurrency);
  try {
    if (source.kind === 'image-folder') {
      for (const split of plan.splits) {
        for (const entry of split.entries) {
          const file = nameOf(entry);
          await pool.add(async () => place(entry, file, await readInputFile(file, { what: 'image', maxBytes: MAX_IMAGE_FILE_BYTES })));
        }
      }
    } else {
      // Only the planned images are read; anything else in the archive is streamed past.
      for await (const archived of readArchiveFile(source.path, { select: ({ path }) => slots.has(path) })) {
        if (archived.type !== 'file' || archived.skipped || !slots.has(archived.path)) continue;
        const entry = plan.splits[slots.get(archived.path)!.split].entries[slots.get(archived.path)!.index];
        await pool.add(() => place(entry, nameOf(entry), archived.data));
      }
    }
    await pool.drain();
    if (!sinks) throw new DataFileError(source.path, 'no images could be read');
  } catch (error) {
    // Leave no half-written cache file behind.
    await pool.drain().catch(() => {});
    if (sinks) for (const sink of await sinks.catch(() => [])) await sink.abort();
    throw error;
  }
  const datasets = new Map<'train' | 'test', ImageDataset>();
  const opened = await sinks;
  for (const [s, split] of plan.splits.entries()) {
    try {
      const dataset = await opened[s].finish();
      if (dataset) datasets.set(split.name, dataset);
    } catch (error) {
      for (const later of opened.slice(s + 1)) await later.abort();
      throw error;
    }
  }
  return { plan, datasets };
}

// Gathers images named by (split, class, file) as they stream in from a folder walk or an
// archive, decodes them with bounded concurrency, and packs each split into one ImageDataset with
// a class list shared by all splits (so label 3 means the same class in train and test).

import { BoundedPool } from './bounded-pool.js';
import { compareNames, orderClassNames } from './class-order.js';
import { DataFileError } from './data-error.js';
import { sharedBytes, type ImageDataset } from './dataset.js';
import { decodeImage, IMAGE_EXTENSIONS, type DecodeOptions } from './image-decode.js';

interface CollectedImage {
  className: string;
  file: string;
  pixels: Buffer;
}

export interface ImageCollectorOptions extends DecodeOptions {
  /** Decodes in flight at once. */
  concurrency?: number;
}

export class ImageCollector {
  private readonly pool: BoundedPool;
  private readonly images = new Map<string, CollectedImage[]>();
  /** split -> class -> folder, for classes that must end up non-empty. */
  private readonly classFolders = new Map<string, Map<string, string>>();
  private shape: { height: number; width: number; channels: number; file: string } | undefined;

  constructor(private readonly options: ImageCollectorOptions = {}) {
    this.pool = new BoundedPool(options.concurrency ?? 16);
  }

  /** Declares a class folder; `finish` fails if no image of it arrives. */
  addClassFolder(split: string, className: string, folder: string): void {
    let folders = this.classFolders.get(split);
    if (!folders) this.classFolders.set(split, (folders = new Map()));
    if (!folders.has(className)) folders.set(className, folder);
  }

  /**
   * Queues one image; waits only when too many decodes are in flight. `read` supplies the
   * compressed bytes (already in memory for archives, read lazily for folders).
   */
  async add(split: string, className: string, file: string, read: Buffer | (() => Promise<Buffer>)): Promise<void> {
    await this.pool.add(async () => {
      const data = typeof read === 'function' ? await read() : read;
      const image = await decodeImage(data, file, this.options);
      this.checkShape(image.height, image.width, image.channels, file);
      let list = this.images.get(split);
      if (!list) this.images.set(split, (list = []));
      list.push({ className, file, pixels: image.pixels });
    });
  }

  /** Waits for all decodes and returns one dataset per split that received images or class folders. */
  async finish(splits: readonly string[]): Promise<Map<string, ImageDataset>> {
    await this.pool.drain();
    for (const [split, folders] of this.classFolders) {
      if (!splits.includes(split)) continue;
      const present = new Set((this.images.get(split) ?? []).map((image) => image.className));
      for (const [className, folder] of folders) {
        if (!present.has(className)) {
          throw new DataFileError(folder, `empty class folder: no ${IMAGE_EXTENSIONS.join('/')} images for class "${className}"`);
        }
      }
    }
    const classNames = new Set<string>();
    for (const split of splits) for (const image of this.images.get(split) ?? []) classNames.add(image.className);
    const classes = orderClassNames(classNames);
    const labelOf = new Map(classes.map((name, index) => [name, index]));

    const result = new Map<string, ImageDataset>();
    for (const split of splits) {
      const list = this.images.get(split);
      if (!list || !this.shape) continue;
      // Decodes finish in any order; sorting restores a reproducible dataset order.
      list.sort((a, b) => labelOf.get(a.className)! - labelOf.get(b.className)! || compareNames(a.file, b.file));
      const { height, width, channels } = this.shape;
      const perImage = height * width * channels;
      const images = sharedBytes(list.length * perImage);
      const labels = new Int32Array(list.length);
      list.forEach((image, i) => {
        images.set(image.pixels, i * perImage);
        labels[i] = labelOf.get(image.className)!;
      });
      this.images.delete(split);
      result.set(split, { images, labels, height, width, channels, classes: [...classes], files: list.map((image) => image.file) });
    }
    return result;
  }

  private checkShape(height: number, width: number, channels: number, file: string): void {
    if (!this.shape) {
      this.shape = { height, width, channels, file };
      return;
    }
    const expected = this.shape;
    if (expected.height !== height || expected.width !== width || expected.channels !== channels) {
      throw new DataFileError(
        file,
        `image is ${width}x${height} but ${expected.file} is ${expected.width}x${expected.height}; ` +
          'images of different sizes need resizing to one size: pass --image-size N or WxH (loadDataset: imageSize), with --resize cover|contain|fill',
      );
    }
  }
}

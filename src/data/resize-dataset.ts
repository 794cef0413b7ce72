// Resizing and channel conversion of datasets that arrive already decoded (CIFAR-10's binary
// batches, MNIST's IDX files), through the same sharp operations that image files get at decode,
// so a source's format never changes what the model sees.

import sharp from 'sharp';
import { BoundedPool } from './loading/bounded-pool.js';
import { sharedBytes, type ImageDataset } from './dataset.js';
import type { DecodeOptions } from './image-decode.js';

/** True when `options` would change images of this shape. */
export function changesShape(dataset: Pick<ImageDataset, 'height' | 'width' | 'channels'>, options: DecodeOptions): boolean {
  const channels = options.channels ?? 3;
  const resize = options.resize;
  return channels !== dataset.channels || (resize !== undefined && (resize.width !== dataset.width || resize.height !== dataset.height));
}

/** A copy of the dataset resized and converted as decodeImage would have (gray replicated to RGB, RGB to luminance). */
export async function resizeDataset(dataset: ImageDataset, options: DecodeOptions): Promise<ImageDataset> {
  if (!changesShape(dataset, options)) return dataset;
  const channels = options.channels ?? 3;
  const { height: h, width: w } = dataset;
  const out = { height: options.resize?.height ?? h, width: options.resize?.width ?? w };
  const inBytes = h * w * dataset.channels;
  const outBytes = out.height * out.width * channels;
  const count = dataset.labels.length;
  const images = sharedBytes(count * outBytes);
  const pool = new BoundedPool(16);
  for (let i = 0; i < count; i++) {
    await pool.add(async () => {
      const input = dataset.images.subarray(i * inBytes, (i + 1) * inBytes);
      let pipeline = sharp(input, { raw: { width: w, height: h, channels: dataset.channels as 1 | 3 } });
      if (options.resize) pipeline = pipeline.resize(out.width, out.height, { fit: options.resize.fit ?? 'cover', background: { r: 0, g: 0, b: 0 } });
      const pixels = await pipeline.toColourspace(channels === 1 ? 'b-w' : 'srgb').raw().toBuffer();
      if (pixels.length !== outBytes) throw new Error(`resizing image ${i} gave ${pixels.length} bytes instead of ${outBytes}`);
      images.set(pixels, i * outBytes);
    });
  }
  await pool.drain();
  return { images, labels: dataset.labels, height: out.height, width: out.width, channels, classes: [...dataset.classes] };
}

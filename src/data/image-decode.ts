// Decodes JPEG, PNG, WebP (anything libvips reads) into raw interleaved uint8 pixels with sharp.

import sharp from 'sharp';
import { DataFileError } from './data-error.js';

export interface ResizeOptions {
  width: number;
  height: number;
  /** 'cover' (default) crops to fill the size keeping aspect; 'fill' stretches; 'contain' pads with black. */
  fit?: 'cover' | 'fill' | 'contain';
}

export interface DecodeOptions {
  resize?: ResizeOptions;
  /** 3 (default) for RGB, 1 for grey. Alpha is always dropped. */
  channels?: 1 | 3;
  /** Refuse images with more pixels than this before decoding them (sharp's limitInputPixels; default sharp's, 16383²). */
  limitInputPixels?: number;
}

export interface DecodedImage {
  pixels: Buffer;
  height: number;
  width: number;
  channels: number;
}

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

export function isImageFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((extension) => lower.endsWith(extension)) && !lower.split('/').pop()!.startsWith('.');
}

/** `file` names the image in errors. */
export async function decodeImage(data: Buffer, file: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const channels = options.channels ?? 3;
  try {
    let pipeline = sharp(data, options.limitInputPixels !== undefined ? { limitInputPixels: options.limitInputPixels } : {}).removeAlpha();
    if (options.resize) {
      const { width, height, fit = 'cover' } = options.resize;
      pipeline = pipeline.resize(width, height, { fit, background: { r: 0, g: 0, b: 0 } });
    }
    pipeline = pipeline.toColourspace(channels === 1 ? 'b-w' : 'srgb');
    const { data: pixels, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new Error(`decoded to ${info.channels} channels instead of ${channels}`);
    }
    return { pixels, height: info.height, width: info.width, channels: info.channels };
  } catch (error) {
    throw new DataFileError(file, `cannot decode image (${(error as Error).message})`, { cause: error });
  }
}

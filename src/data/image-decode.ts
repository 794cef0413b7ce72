// Decodes JPEG, PNG, WebP (anything libvips reads) into raw interleaved uint8 pixels: ordinary colour
// JPEGs that need no resizing by the addon's libjpeg-turbo, everything else with sharp.

import sharp from 'sharp';
import { native } from '../binding/native.js';
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
  /**
   * Images with more pixels (width × height) are refused before decoding (default
   * DEFAULT_MAX_IMAGE_PIXELS): a small compressed file can hold a huge image.
   */
  maxImagePixels?: number;
  /** The same limit under sharp's name (used by serve); maxImagePixels wins when both are given. */
  limitInputPixels?: number;
}

/**
 * 40 megapixels: larger than photos from most cameras, small enough that the decodes in flight
 * at once (16) stay within a few GB. A 16,000 × 16,000 PNG of under 1 MB would need 768 MB decoded.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

/**
 * Wider or taller images are refused before decoding, whatever their pixel count: libvips's resize
 * holds buffers in proportion to the width (a 300-byte PNG claiming 2,097,172 × 12 pixels, 25
 * megapixels, took 2.6 GB to resize to 16 × 16; 65,535 × 600 takes ~230 MB). It is the largest
 * side a JPEG or GIF header can state, so those need no check.
 */
export const MAX_DECODE_SIDE = 65_535;

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
  const maxPixels = options.maxImagePixels ?? options.limitInputPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) throw new RangeError(`Expected a positive integer for maxImagePixels but received ${maxPixels}`);
  const fast = await decodeJpegFastPath(data, channels, options.resize, maxPixels);
  if (fast) return fast;
  const size = await headerSize(data);
  if (size && size.width * size.height > maxPixels) refuseOversized(file, size, maxPixels);
  if (size && (size.width > MAX_DECODE_SIDE || size.height > MAX_DECODE_SIDE)) {
    throw new ImageTooLargeError(file, size, `image is ${size.width}×${size.height} pixels, over the limit of ${MAX_DECODE_SIDE} pixels on a side (it would take gigabytes to resize)`);
  }
  try {
    // libvips compares the header's width × height with limitInputPixels before decoding any pixel;
    // only a refused image pays for a separate metadata() read, to name its size.
    let pipeline = sharp(data, { limitInputPixels: maxPixels }).removeAlpha();
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
    if (/pixel limit/i.test((error as Error).message)) {
      const meta = await sharp(data, { limitInputPixels: false }).metadata().catch(() => undefined);
      refuseOversized(file, meta?.width && meta.height ? { width: meta.width, height: meta.height } : null, maxPixels, error);
    }
    // libvips may append several lines (and, decoding on its thread pool, another image's warning): keep one line.
    const reason = (error as Error).message.trim().split(/\s*\n\s*/)[0];
    throw new DataFileError(file, `cannot decode image (${reason})`, { cause: error });
  }
}

const JPEG_MAGIC = 0xffd8ff;

/**
 * An ordinary colour JPEG that needs no resizing (none asked, or already at the size) is decoded
 * by the addon's libjpeg-turbo on the thread pool: the same pixels as sharp's (same library, same
 * settings), ~20× less CPU for a small image. Null sends the image to sharp.
 */
async function decodeJpegFastPath(data: Buffer, channels: number, resize: ResizeOptions | undefined, maxPixels: number): Promise<DecodedImage | null> {
  if (channels !== 3 || data.length < 3 || data.readUIntBE(0, 3) !== JPEG_MAGIC) return null;
  // A rejection (the addon out of memory) would be an error that does not name the file: sharp decides instead.
  const r = await native.decodeJpegRgb(data, resize?.width ?? 0, resize?.height ?? 0, maxPixels).catch(() => null);
  return r && { pixels: r.pixels, width: r.width, height: r.height, channels: 3 };
}

interface ImageSize { width: number; height: number }

/** An image refused from its header for its size, before any pixel is decoded (serve answers it 422). */
export class ImageTooLargeError extends DataFileError {
  /** The size the header states, when known. */
  readonly size: ImageSize | null;
  constructor(file: string, size: ImageSize | null, message: string, options?: { cause?: unknown }) {
    super(file, message, options);
    this.name = 'ImageTooLargeError';
    this.size = size;
  }
}

/** Throws the over-the-limit error with the image's size (from its header), when known. */
function refuseOversized(file: string, size: ImageSize | null, maxPixels: number, cause?: unknown): never {
  const text = size ? `${size.width}×${size.height} = ${((size.width * size.height) / 1e6).toFixed(1)} megapixels` : 'larger than the limit';
  throw new ImageTooLargeError(file, size, `image is ${text}, over the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels ` +
    '(raise it with --max-image-pixels / maxImagePixels if the image is genuine)', cause === undefined ? undefined : { cause });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const GIF_MAGIC = Buffer.from('GIF8', 'latin1');

/**
 * The size an image's header states, for the checks before sharp decodes it: read directly from a
 * PNG's IHDR, from sharp's header-only metadata() for formats whose sides may exceed
 * MAX_DECODE_SIDE (WebP canvases, TIFF, HEIF…). Null for JPEG and GIF (16-bit sides, and libvips
 * applies the pixel limit) and when the header cannot be read (sharp then words the error).
 */
async function headerSize(data: Buffer): Promise<ImageSize | null> {
  if (data.length >= 3 && data.readUIntBE(0, 3) === JPEG_MAGIC) return null;
  if (data.subarray(0, 4).equals(GIF_MAGIC)) return null;
  if (data.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return data.length >= 24 && data.toString('latin1', 12, 16) === 'IHDR' ? { width: data.readUInt32BE(16), height: data.readUInt32BE(20) } : null;
  }
  // sharp() itself throws on an empty buffer: inside the promise, that is a header it cannot read too.
  const meta = await Promise.resolve().then(() => sharp(data, { limitInputPixels: false }).metadata()).catch(() => undefined);
  return meta?.width && meta.height ? { width: meta.width, height: meta.height } : null;
}

// Uploaded image bytes → the model's H×W×C uint8 pixels, with the checks a public endpoint needs:
// an empty body (400), bytes that are no image format sharp knows (415), more pixels than the
// limit — a decompression bomb is a few KB of PNG that decodes to gigabytes; sharp refuses it
// from the header, before decoding (limitInputPixels) — (422), a corrupt or truncated image (422).
// One sharp pipeline per good image; the header is read again only to explain a refusal.
import sharp from 'sharp';
import { decodeImage, ImageTooLargeError, MAX_DECODE_SIDE } from '../data/image-decode.js';
import { decodeOptionsOf, type Preprocessing } from '../data/preprocessing.js';
import { HttpError } from './http-error.js';

/** sharp's own messages for bytes it cannot identify and for an image over limitInputPixels. */
const UNKNOWN_FORMAT = /unsupported image format/i;
const PIXEL_LIMIT = /exceeds pixel limit/i;

async function sizeOf(data: Buffer): Promise<string> {
  try {
    const { width, height } = await sharp(data, { limitInputPixels: false }).metadata();
    return width && height ? `${width}×${height} = ${width * height} pixels` : 'of unknown size';
  } catch {
    return 'of unknown size';
  }
}

export async function decodeUpload(data: Buffer, name: string, p: Preprocessing, maxPixels: number): Promise<Buffer> {
  if (data.length === 0) throw new HttpError(400, 'EMPTY_IMAGE', `${name}: Expected an image (JPEG, PNG, WebP…) but received an empty body`);
  try {
    return (await decodeImage(data, name, { ...decodeOptionsOf(p), limitInputPixels: maxPixels })).pixels;
  } catch (e) {
    const cause = ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
    if (UNKNOWN_FORMAT.test(cause)) throw new HttpError(415, 'NOT_AN_IMAGE', `${name}: Expected an image (JPEG, PNG, WebP, GIF, TIFF, AVIF…) but received ${data.length} bytes of no image format`);
    const { size } = e instanceof ImageTooLargeError ? e : { size: null };
    if (size && size.width * size.height <= maxPixels) {
      throw new HttpError(422, 'TOO_MANY_PIXELS', `${name}: the image is ${size.width}×${size.height} pixels, over the limit of ${MAX_DECODE_SIDE} pixels on a side; send a smaller image`);
    }
    if (PIXEL_LIMIT.test(cause) || e instanceof ImageTooLargeError) throw new HttpError(422, 'TOO_MANY_PIXELS', `${name}: the image is ${await sizeOf(data)}, over the limit of ${maxPixels}; send a smaller image`);
    throw new HttpError(422, 'CORRUPT_IMAGE', `${name}: cannot decode the image (${cause})`);
  }
}

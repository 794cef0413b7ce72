// Uploaded image bytes → the model's H×W×C uint8 pixels, with the checks a public endpoint needs:
// an empty body (400), bytes that are no image format sharp knows (415), a header announcing more
// pixels than the limit — a decompression bomb is a few KB of PNG that decodes to gigabytes —
// (422, refused from the header before any decoding), and a corrupt or truncated image (422).
import sharp from 'sharp';
import { decodeImage } from '../data/image-decode.js';
import { decodeOptionsOf, type Preprocessing } from '../data/preprocessing.js';
import { HttpError } from './http-error.js';

/** sharp's own message for bytes it cannot identify. */
const UNKNOWN_FORMAT = /unsupported image format/i;

export async function decodeUpload(data: Buffer, name: string, p: Preprocessing, maxPixels: number): Promise<Buffer> {
  if (data.length === 0) throw new HttpError(400, 'EMPTY_IMAGE', `${name}: Expected an image (JPEG, PNG, WebP…) but received an empty body`);
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(data, { limitInputPixels: false }).metadata());
  } catch (e) {
    const message = (e as Error).message;
    if (UNKNOWN_FORMAT.test(message)) throw new HttpError(415, 'NOT_AN_IMAGE', `${name}: Expected an image (JPEG, PNG, WebP, GIF, TIFF, AVIF…) but received ${data.length} bytes of no image format`);
    throw new HttpError(422, 'CORRUPT_IMAGE', `${name}: cannot read the image header (${message})`);
  }
  if (!width || !height) throw new HttpError(422, 'CORRUPT_IMAGE', `${name}: the image header has no size`);
  if (width * height > maxPixels) {
    throw new HttpError(422, 'TOO_MANY_PIXELS', `${name}: the image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}; send a smaller image`);
  }
  try {
    return (await decodeImage(data, name, { ...decodeOptionsOf(p), limitInputPixels: maxPixels })).pixels;
  } catch (e) {
    const cause = ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
    throw new HttpError(422, 'CORRUPT_IMAGE', `${name}: cannot decode the image (${cause})`);
  }
}

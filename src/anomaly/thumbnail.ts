// Small PNG data: URIs of raw pixels, for thumbnails in HTML reports.
import sharp from 'sharp';

/** H×W×C uint8 pixels → a PNG data URI, enlarged with nearest-neighbour sampling to at least minSize pixels wide. */
export async function thumbnailDataUri(pixels: Uint8Array, shape: { width: number; height: number; channels: number }, minSize = 96): Promise<string> {
  const scale = Math.max(1, Math.ceil(minSize / shape.width));
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: shape.width, height: shape.height, channels: shape.channels as 1 | 3 } })
    .resize(shape.width * scale, shape.height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

// The addon's libjpeg-turbo fast path (native/src/jpeg_decode.cc) against sharp: the same pixels
// for the JPEGs it takes, and sharp (with its errors) for everything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { native } from '../../src/binding/native.js';
import { decodeImage } from '../../src/data/image-decode.js';
import { DataFileError } from '../../src/data/data-error.js';

const fastPath = native.hasJpegFastPath();

/** Smooth gradients plus seeded noise: the chroma upsampling and the IDCT both matter. */
function photoLike(width: number, height: number, seed: number, channels = 3): Buffer {
  const px = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        px[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(128 + 100 * Math.sin((x + 2 * c) / 5) * Math.cos(y / 7) + ((s >> 16) % 41) - 20)));
      }
    }
  }
  return px;
}

const jpeg = (width: number, height: number, seed: number, o: sharp.JpegOptions = {}): Promise<Buffer> =>
  sharp(photoLike(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg(o).toBuffer();

/** What decodeImage did before the fast path: sharp's pipeline alone. */
async function viaSharp(data: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(data).removeAlpha().resize(width, height, { fit: 'cover' }).toColourspace('srgb').raw().toBuffer();
}

test('colour JPEGs at the model size: the same pixels as sharp, decoded by the fast path', { skip: !fastPath && 'built without libjpeg' }, async () => {
  const cases: Array<[string, number, number, sharp.JpegOptions]> = [
    ['4:2:0 q90', 32, 32, { quality: 90 }],
    ['4:4:4 q95', 32, 32, { quality: 95, chromaSubsampling: '4:4:4' }],
    ['progressive q50', 32, 32, { quality: 50, progressive: true }],
    ['odd size 33×17', 33, 17, { quality: 80 }],
    ['mozjpeg 64×48', 64, 48, { mozjpeg: true }],
    ['optimised Huffman 224×224', 224, 224, { quality: 75, optimiseCoding: true }],
  ];
  for (const [what, w, h, o] of cases) {
    for (const seed of [1, 2, 3]) {
      const data = await jpeg(w, h, seed, o);
      const direct = await native.decodeJpegRgb(data, w, h, 40e6);
      assert.ok(direct, `${what}: the fast path takes it`);
      const decoded = await decodeImage(data, `${what}.jpg`, { resize: { width: w, height: h } });
      assert.deepEqual([decoded.width, decoded.height, decoded.channels], [w, h, 3]);
      assert.ok(decoded.pixels.equals(await viaSharp(data, w, h)), `${what}, seed ${seed}: pixels differ from sharp's`);
      const anySize = await decodeImage(data, `${what}.jpg`);
      assert.ok(anySize.pixels.equals(decoded.pixels), `${what}: no resize asked gives the same pixels`);
    }
  }
});

test('everything else goes to sharp: other sizes, grey, ICC profiles, other formats, damaged files', async () => {
  const colour = await jpeg(48, 40, 5);
  assert.equal(await native.decodeJpegRgb(colour, 32, 32, 40e6), null, 'another size is resized by sharp');
  const resized = await decodeImage(colour, 'big.jpg', { resize: { width: 32, height: 32 } });
  assert.ok(resized.pixels.equals(await viaSharp(colour, 32, 32)));

  const grey = await sharp(photoLike(32, 32, 6, 1), { raw: { width: 32, height: 32, channels: 1 } }).toColourspace('b-w').jpeg().toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  assert.equal(await native.decodeJpegRgb(grey, 32, 32, 40e6), null);
  assert.ok((await decodeImage(grey, 'grey.jpg', { resize: { width: 32, height: 32 } })).pixels.equals(await viaSharp(grey, 32, 32)));

  const tagged = await sharp(photoLike(32, 32, 7), { raw: { width: 32, height: 32, channels: 3 } }).withIccProfile('p3').jpeg().toBuffer();
  assert.equal(await native.decodeJpegRgb(tagged, 32, 32, 40e6), null, 'an ICC-tagged JPEG is left to sharp');
  assert.equal(await native.decodeJpegRgb(colour, 0, 0, 48 * 40 - 1), null, 'over the pixel limit');

  const truncated = colour.subarray(0, colour.length >> 1);
  assert.equal(await native.decodeJpegRgb(truncated, 48, 40, 40e6), null);
  await assert.rejects(decodeImage(truncated, 'half.jpg'), (e: Error) => e instanceof DataFileError && /half\.jpg: cannot decode image/.test(e.message));
  const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(200, 7)]);
  assert.equal(await native.decodeJpegRgb(garbage, 32, 32, 40e6), null);
  await assert.rejects(decodeImage(garbage, 'garbage.jpg'), /garbage\.jpg: cannot decode image/);
  assert.throws(() => native.decodeJpegRgb('not a buffer' as unknown as Buffer, 32, 32, 40e6), /decodeJpegRgb: argument 0 is not a Buffer/);
});

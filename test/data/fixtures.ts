// Fixture builders for the data tests: temp folders, a minimal tar writer (ustar, with GNU long
// names or pax headers for long paths), CIFAR-10 binary records, and small encoded images.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

export function makeTempDir(prefix = 'deepmetric-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TarFixtureEntry {
  path: string;
  data?: Buffer;
  type?: 'file' | 'directory';
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

function header(name: string, size: number, typeFlag: string, prefix = ''): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write(typeFlag, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${octal(sum, 7)} `, 148, 'ascii');
  return block;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** A tar archive; paths over 100 bytes use a GNU 'L' entry or, with longNames 'pax', a pax header. */
export function writeTar(entries: TarFixtureEntry[], options: { gzip?: boolean; longNames?: 'gnu' | 'pax' } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const isDirectory = entry.type === 'directory';
    const data = entry.data ?? Buffer.alloc(0);
    let name = entry.path;
    if (Buffer.byteLength(name) > 100) {
      if (options.longNames === 'pax') {
        const record = (key: string, value: string) => {
          const body = ` ${key}=${value}\n`;
          let length = body.length + 1;
          while (String(length).length + body.length !== length) length = String(length).length + body.length;
          return `${length}${body}`;
        };
        const pax = Buffer.from(record('path', name), 'utf8');
        blocks.push(header('PaxHeader', pax.length, 'x'), padded(pax));
      } else {
        const long = Buffer.from(`${name}\0`, 'utf8');
        blocks.push(header('././@LongLink', long.length, 'L'), padded(long));
      }
      name = name.slice(0, 99);
    }
    blocks.push(header(name, isDirectory ? 0 : data.length, isDirectory ? '5' : '0'));
    if (!isDirectory && data.length > 0) blocks.push(padded(data));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip ? gzipSync(tar) : tar;
}

/** Deterministic pseudo-random bytes. */
export function noiseBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/**
 * CIFAR-10 binary records (label byte + R, G, B planes) for the given labels, plus the same
 * images in NHWC for comparison.
 */
export function cifarRecords(labels: number[], seed: number): { bytes: Buffer; nhwc: Uint8Array } {
  const bytes = Buffer.alloc(labels.length * 3073);
  const nhwc = new Uint8Array(labels.length * 3072);
  labels.forEach((label, n) => {
    const pixels = noiseBytes(3072, seed * 1000 + n + 1);
    nhwc.set(pixels, n * 3072);
    const record = n * 3073;
    bytes[record] = label;
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) bytes[record + 1 + c * 1024 + p] = pixels[p * 3 + c];
    }
  });
  return { bytes, nhwc };
}

/** A solid-colour image with one distinct pixel, encoded as PNG, JPEG or WebP. */
export async function encodedImage(
  format: 'png' | 'jpeg' | 'webp',
  color: [number, number, number],
  size = { width: 8, height: 8 },
  channels: 3 | 4 = 3,
): Promise<Buffer> {
  const raw = Buffer.alloc(size.width * size.height * channels);
  for (let p = 0; p < size.width * size.height; p++) {
    raw.set(color, p * channels);
    if (channels === 4) raw[p * 4 + 3] = 255;
  }
  const image = sharp(raw, { raw: { width: size.width, height: size.height, channels } });
  if (format === 'png') return image.png().toBuffer();
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  return image.webp({ lossless: true }).toBuffer();
}

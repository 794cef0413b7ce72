import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface PngOptions {
  /** Pixel density multiplier: 2 gives a 1280 × 960 PNG for a 640 × 480 chart (default 1). */
  scale?: number;
}

/** Renders an SVG document to PNG with sharp (librsvg); the PNG has the SVG's size times `scale`. */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  if (typeof svg !== 'string' || !/<svg[\s>]/.test(svg)) {
    throw new TypeError(`Expected an SVG document string for svg but received ${typeof svg === 'string' ? JSON.stringify(svg.slice(0, 40)) : typeof svg}`);
  }
  const scale = options.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0 || scale > 8) {
    throw new RangeError(`Expected a number in (0, 8] for scale but received ${scale}`);
  }
  // librsvg renders SVG user units at 72 dpi, so density 72 × scale gives exactly `scale` pixels per unit.
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

export interface WrittenChart {
  svgPath: string;
  pngPath: string;
}

/**
 * Writes `<dir>/<name>.svg` and `<dir>/<name>.png`, each atomically, creating `dir` if needed.
 * The PNG is rendered before anything is written, so a rendering failure leaves old files alone.
 */
export async function writeChart(dir: string, name: string, svg: string, options: PngOptions = {}): Promise<WrittenChart> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`Expected a non-empty string for dir but received ${JSON.stringify(dir)}`);
  }
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new TypeError(`Expected a file name of letters, digits, ".", "_" or "-" (no extension) for name but received ${JSON.stringify(name)}`);
  }
  const png = await svgToPng(svg, options);
  await mkdir(dir, { recursive: true });
  const svgPath = path.join(dir, `${name}.svg`);
  const pngPath = path.join(dir, `${name}.png`);
  await writeFileAtomic(svgPath, svg);
  await writeFileAtomic(pngPath, png);
  return { svgPath, pngPath };
}

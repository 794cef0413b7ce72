// A tiny learnable image-folder dataset (train/<class>/*.png, test/<class>/*.png): each class is a
// colour with noise, so a small network separates them within a few steps.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const COLOURS: Record<string, [number, number, number]> = { red: [200, 40, 40], green: [40, 200, 40], blue: [40, 40, 200] };

export async function writeSyntheticFolder(root: string, perClass: { train: number; test: number }, seed = 1): Promise<void> {
  await writeColourFolder(root, perClass, COLOURS, seed);
}

/** Four colour classes (blue, green, red, yellow once sorted), e.g. normal / anomaly / two reference classes. */
export const FOUR_COLOURS: Record<string, [number, number, number]> = { ...COLOURS, yellow: [200, 200, 40] };

/** The same kind of dataset with any colour classes: name → mean RGB. */
export async function writeColourFolder(root: string, perClass: { train: number; test: number }, colours: Record<string, [number, number, number]>, seed = 1): Promise<void> {
  let state = seed;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (const split of ['train', 'test'] as const) {
    for (const [name, [r, g, b]] of Object.entries(colours)) {
      const dir = join(root, split, name);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++) {
        const px = Buffer.alloc(32 * 32 * 3);
        for (let p = 0; p < 32 * 32; p++) {
          const noise = (rand() - 0.5) * 120;
          px[3 * p] = Math.max(0, Math.min(255, r + noise));
          px[3 * p + 1] = Math.max(0, Math.min(255, g + noise));
          px[3 * p + 2] = Math.max(0, Math.min(255, b + noise));
        }
        await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(dir, `${i}.png`));
      }
    }
  }
}

// Input-pipeline benchmark: augmentation throughput, DataLoader throughput, and time to the first
// batch of CIFAR-10 from a cold and from a warm cache. Prints figures; asserts nothing.
//   npx tsc -p . && node dist/bench/pipeline.js [--source <cifar10 source>] [--skip-cold]

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleBatch } from '../src/data/loading/batch-assembly.js';
import { loadCifar10, resolveCifar10Source } from '../src/data/sources/cifar10.js';
import { sharedBytes, type ImageDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loading/loader.js';
import { CIFAR10_AUGMENT, type AugmentOptions } from '../src/data/loading/transforms.js';

const args = process.argv.slice(2);
const sourceArg = args.includes('--source') ? args[args.indexOf('--source') + 1] : undefined;
const skipCold = args.includes('--skip-cold');

function syntheticCifar(count: number): ImageDataset {
  const images = sharedBytes(count * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, height: 32, width: 32, channels: 3, classes: Array.from({ length: 10 }, (_, i) => `c${i}`) };
}

function augmentationRate(dataset: ImageDataset, augment: AugmentOptions, batchSize: number): number {
  const source = { images: dataset.images, labels: dataset.labels, shape: { height: 32, width: 32, channels: 3 }, augment };
  const indices = Int32Array.from({ length: batchSize }, (_, i) => (i * 7919) % dataset.labels.length);
  let images = 0;
  const started = performance.now();
  for (let b = 0; performance.now() - started < 2000; b++) {
    assembleBatch(source, indices, b);
    images += batchSize;
  }
  return images / ((performance.now() - started) / 1000);
}

async function loaderRate(dataset: ImageDataset, worker: boolean): Promise<number> {
  const loader = new DataLoader(dataset, { batchSize: 256, augment: CIFAR10_AUGMENT, seed: 1, worker });
  const started = performance.now();
  let images = 0;
  for await (const batch of loader.epoch(0)) images += batch.size;
  return images / ((performance.now() - started) / 1000);
}

async function timeToFirstBatch(source: string, cacheDir: string): Promise<{ load: number; first: number }> {
  const started = performance.now();
  const { train } = await loadCifar10({ source, cacheDir });
  const load = performance.now() - started;
  const loader = new DataLoader(train, { batchSize: 128, augment: CIFAR10_AUGMENT, seed: 0 });
  for await (const batch of loader) {
    if (batch.size !== 128) throw new Error('unexpected batch size');
    break;
  }
  return { load, first: performance.now() - started };
}

const format = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`cores available: ${availableParallelism()}`);
const synthetic = syntheticCifar(50_000);
for (const [name, augment] of [
  ['gather only', {}],
  ['crop(pad 4) + flip', CIFAR10_AUGMENT],
  ['crop + flip + cutout 16', { ...CIFAR10_AUGMENT, cutoutSize: 16 }],
] as const) {
  console.log(`augmentation, one thread, ${name}: ${format(augmentationRate(synthetic, augment, 256))} images/s (32x32, batch 256)`);
}
console.log(`DataLoader epoch, worker thread, crop + flip: ${format(await loaderRate(synthetic, true))} images/s`);
console.log(`DataLoader epoch, main thread, crop + flip: ${format(await loaderRate(synthetic, false))} images/s`);

const source = await resolveCifar10Source({ source: sourceArg });
console.log(`CIFAR-10 source: ${source}`);
const cacheDir = mkdtempSync(join(tmpdir(), 'deepmetric-bench-'));
try {
  if (!skipCold) {
    const cold = await timeToFirstBatch(source, cacheDir);
    console.log(`cold cache: dataset ready in ${(cold.load / 1000).toFixed(2)} s, first batch after ${(cold.first / 1000).toFixed(2)} s`);
    const warm = await timeToFirstBatch(source, cacheDir);
    console.log(`warm cache: dataset ready in ${(warm.load / 1000).toFixed(2)} s, first batch after ${(warm.first / 1000).toFixed(2)} s`);
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

// Streaming benchmark: a dataset larger than the heap budget, read batch by batch from its cache
// file. Writes N synthetic 64×64 RGB images (100,000 by default, 1.2 GB of pixels) as a .dmcache
// with the streaming writer, opens it file-backed (checksum verified), then runs one shuffled epoch
// of the DataLoader (worker thread, positioned reads) and reports images/s and the peak RSS of this
// process. Goal: ≥ 5,000 img/s with RSS < 1 GB. Run it alone on a quiet machine:
//   npx tsc -p . && node dist/bench/streaming.js [--images 100000] [--size 64] [--batch 256] [--augment] [--dir /tmp] [--json]
// (the cache file is deleted afterwards; it needs N·size²·3 bytes of free disk).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../src/data/loading/loader.js';
import { DatasetCacheWriter, openDatasetCache } from '../src/data/cache/streamed-cache.js';

export interface StreamingResult {
  images: number;
  size: number;
  pixel_gb: number;
  write_s: number;
  open_s: number;
  images_per_s: number;
  rss_peak_mb: number;
}

export async function streamingBenchmark(o: { images?: number; size?: number; batch?: number; augment?: boolean; dir?: string } = {}): Promise<StreamingResult> {
  const count = o.images ?? 100_000;
  const size = o.size ?? 64;
  const per = size * size * 3;
  const root = mkdtempSync(join(o.dir ?? tmpdir(), 'dm-bench-stream-'));
  const file = join(root, 'stream.dmcache');
  let peak = process.memoryUsage().rss;
  const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
  try {
    let t = performance.now();
    const writer = await DatasetCacheWriter.create(file, { count, height: size, width: size, channels: 3, classes: Array.from({ length: 10 }, (_, i) => `c${i}`) });
    const chunk = 1000;
    const pixels = new Uint8Array(chunk * per);
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      // Cheap, image-dependent bytes: each image its own shifted ramp.
      for (let i = 0; i < n; i++) for (let b = 0; b < per; b += 1) pixels[i * per + b] = (b + (start + i) * 7) & 0xff;
      await writer.append(pixels.subarray(0, n * per), Int32Array.from({ length: n }, (_, i) => (start + i) % 10));
      sample();
    }
    await writer.finish();
    const writeS = (performance.now() - t) / 1000;
    t = performance.now();
    const dataset = await openDatasetCache(file);
    const openS = (performance.now() - t) / 1000;
    sample();
    const loader = new DataLoader(dataset, { batchSize: o.batch ?? 256, seed: 1, shuffle: true, augment: o.augment ? { cropPadding: 4, flipProbability: 0.5 } : undefined });
    t = performance.now();
    let seen = 0;
    for await (const batch of loader.epoch(0)) {
      seen += batch.size;
      sample();
    }
    const seconds = (performance.now() - t) / 1000;
    return { images: seen, size, pixel_gb: (count * per) / 1e9, write_s: writeS, open_s: openS, images_per_s: seen / seconds, rss_peak_mb: peak / 2 ** 20 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const isMain = process.argv[1]?.endsWith('streaming.js');
if (isMain) {
  const args = process.argv.slice(2);
  const value = (name: string): number | undefined => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const dir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : undefined;
  const result = await streamingBenchmark({ images: value('--images'), size: value('--size'), batch: value('--batch'), augment: args.includes('--augment'), dir });
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`streaming ${result.images} images of ${result.size}x${result.size} (${result.pixel_gb.toFixed(2)} GB of pixels): ` +
      `${Math.round(result.images_per_s)} img/s, peak RSS ${Math.round(result.rss_peak_mb)} MB ` +
      `(write ${result.write_s.toFixed(1)} s, open + verify ${result.open_s.toFixed(1)} s; goal ≥ 5000 img/s, < 1024 MB)\n`);
  }
}

// Detector benchmark: scoring a folder of 32×32 JPEG files with a saved detector (reading,
// decoding, the forward passes and the k-NN score together) and loading the detector file.
// Keys: score.images_per_s (goal ≥ 2,000 on 2 cores), detector.load_ms (goal < 1,000).
//   npx tsc -p . && node dist/bench/detector.js [--files 10000] [--normals 5000] [--threads N]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { setNumThreads } from '../src/index.js';
import { AnomalyDetector } from '../src/anomaly/anomaly-detector.js';
import { fitNoiseDetector, noiseImages } from './noise-detector.js';
import { scoreImageFiles } from '../src/anomaly/score-files.js';

export interface DetectorBench {
  score: { images_per_s: number; files: number; seconds: number };
  detector: { load_ms: number; file_mb: number; normals: number };
}

/** Scoring speed of a saved detector on JPEG files, and its load time (detector: ./noise-detector.ts). */
export async function detectorBench(o: { files?: number; normals?: number; log?: (s: string) => void } = {}): Promise<DetectorBench> {
  const files = o.files ?? 10_000;
  const normals = o.normals ?? 5000;
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-detector-'));
  try {
    log(`detector bench: writing ${files} JPEG files…`);
    const folder = join(dir, 'images');
    mkdirSync(folder);
    const pixels = noiseImages(Math.min(files, 1000), 7);
    for (let i = 0; i < files; i++) {
      const raw = Buffer.from(pixels.images.buffer, (i % 1000) * 3072, 3072);
      writeFileSync(join(folder, `${String(i).padStart(6, '0')}.jpg`), await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    }
    log(`detector bench: fitting a kNN detector on ${normals} images…`);
    const detector = fitNoiseDetector(normals);
    const path = join(dir, 'detector.dmdet');
    await detector.save(path);
    const bytes = detector.encode().length;
    detector.dispose();

    const loads: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      AnomalyDetector.load(path).dispose();
      loads.push(performance.now() - t);
    }
    const loaded = AnomalyDetector.load(path);
    try {
      await scoreImageFiles(loaded, [join(folder, '000000.jpg'), join(folder, '000001.jpg')]); // warm-up
      log(`detector bench: scoring ${files} files…`);
      const t = performance.now();
      const results = await scoreImageFiles(loaded, [folder]);
      const seconds = (performance.now() - t) / 1000;
      const failed = results.filter((r) => r.error).length;
      if (results.length !== files || failed > 0) throw new Error(`detector bench: scored ${results.length} files with ${failed} failures, expected ${files}`);
      return {
        score: { images_per_s: files / seconds, files, seconds },
        detector: { load_ms: loads.sort((a, b) => a - b)[1], file_mb: bytes / 2 ** 20, normals },
      };
    } finally {
      loaded.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string): number | undefined => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  if (arg('--threads')) setNumThreads(arg('--threads')!);
  const r = await detectorBench({ files: arg('--files'), normals: arg('--normals') });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}

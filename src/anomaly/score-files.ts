// Scoring image files with a detector: files are read and decoded (to the detector's size and
// channels) with bounded concurrency while earlier batches go through the network, in batches.
// A file that cannot be read or decoded gets a result with its error; the others are still scored.
import { listImageInputs, type ImageInput } from '../data/sources/image-inputs.js';
import { prepareImage } from '../data/preprocessing.js';
import type { AnomalyDetector, Neighbour } from './anomaly-detector.js';

export interface FileScore {
  file: string;
  /** Absent when the file failed. */
  score?: number;
  threshold: number;
  anomalous?: boolean;
  neighbours?: Neighbour[];
  /** Why the file could not be scored. */
  error?: string;
  /** The decoded H×W×C pixels, when keepPixels asked for them. */
  pixels?: Buffer;
}

export interface ScoreFilesOptions {
  /** Nearest normal training images per file (default 3). */
  k?: number;
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Reads + decodes in flight (default 16). */
  concurrency?: number;
  /** Keep the decoded pixels of results this accepts (e.g. the anomalous ones, for thumbnails). */
  keepPixels?: (r: FileScore) => boolean;
  /** Called after each batch with the number of files done. */
  onProgress?: (done: number) => void;
}

/**
 * Runs at most `limit` tasks at once. `whenFree` resolves once fewer than `limit` run, so that a
 * producer waits there instead of queueing without bound (each queued input may hold a whole file).
 */
function limiter(limit: number): { run: <T>(task: () => Promise<T>) => Promise<T>; whenFree: () => Promise<void> } {
  let active = 0;
  let waiting: (() => void) | undefined;
  const run = <T>(task: () => Promise<T>): Promise<T> => {
    active++;
    return task().finally(() => {
      active--;
      waiting?.();
      waiting = undefined;
    });
  };
  const whenFree = (): Promise<void> => (active < limit ? Promise.resolve() : new Promise<void>((resolve) => (waiting = resolve)));
  return { run, whenFree };
}

function checkCount(name: string, value: unknown, min: number): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min)) {
    throw new TypeError(`Expected an integer ≥ ${min} for ${name} but received ${JSON.stringify(value) ?? String(value)}`);
  }
}

interface Pending { name: string; pixels: Promise<Buffer | Error> }

/**
 * Scores every image under paths (files, folders, tar/zip archives); results in input order. A file
 * that cannot be read or decoded gets a row with `error`; the rest are still scored.
 * @example
 * ```ts
 * const detector = AnomalyDetector.load('runs/detector/detector.dmdet');
 * for (const r of await scoreImageFiles(detector, ['new/'])) console.log(r.file, r.score, r.anomalous);
 * ```
 */
export async function scoreImageFiles(detector: AnomalyDetector, paths: readonly string[] | AsyncIterable<ImageInput>, o: ScoreFilesOptions = {}): Promise<FileScore[]> {
  checkCount('k', o.k, 0);
  checkCount('batchSize', o.batchSize, 1);
  checkCount('concurrency', o.concurrency, 1);
  const p = detector.preprocessing;
  const per = p.width * p.height * p.channels;
  const batchSize = o.batchSize ?? 256;
  const limit = limiter(o.concurrency ?? 16);
  const results: FileScore[] = [];
  const threshold = detector.threshold;

  const flush = async (chunk: Pending[]): Promise<void> => {
    const decoded = await Promise.all(chunk.map((c) => c.pixels));
    const good = decoded.map((d, i) => ({ d, i })).filter((x): x is { d: Buffer; i: number } => !(x.d instanceof Error));
    const batch = Buffer.alloc(good.length * per);
    good.forEach((g, j) => g.d.copy(batch, j * per));
    const scored = good.length > 0 ? detector.score({ images: batch, size: good.length, height: p.height, width: p.width, channels: p.channels }, { k: o.k, batchSize }) : [];
    const byIndex = new Map(good.map((g, j) => [g.i, j]));
    chunk.forEach((c, i) => {
      const d = decoded[i];
      if (d instanceof Error) {
        results.push({ file: c.name, threshold, error: d.message });
        return;
      }
      const r = scored[byIndex.get(i)!];
      const row: FileScore = { file: c.name, score: r.score, threshold, anomalous: r.anomalous, neighbours: r.neighbours };
      if (o.keepPixels?.(row)) row.pixels = d;
      results.push(row);
    });
    o.onProgress?.(results.length);
  };

  const inputs = Symbol.asyncIterator in (paths as object) ? (paths as AsyncIterable<ImageInput>) : listImageInputs(paths as readonly string[]);
  let chunk: Pending[] = [];
  let running: Promise<void> = Promise.resolve();
  for await (const input of inputs) {
    await limit.whenFree();
    const pixels = limit.run(async () => prepareImage(await input.read(), input.name, p)).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    chunk.push({ name: input.name, pixels });
    if (chunk.length === batchSize) {
      const full = chunk;
      chunk = [];
      // The next chunk's decodes start while this one waits for the network.
      await running;
      running = flush(full);
    }
  }
  await running;
  if (chunk.length > 0) await flush(chunk);
  return results;
}

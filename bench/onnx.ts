// ONNX Runtime against ours on the seed model (Keras MobileNetV2 α=0.5, 32×32, softmax head):
// the exported graph (uint8 NHWC images in, logits out) run by onnxruntime-node versus our fused
// model on the same uint8 batch (scaling, forward, logits, copy out), alternated in one process.
// Part of `npm run bench` (key onnx.*); alone: node dist/bench/onnx.js [--images N] [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getNumThreads, manualSeed, noGrad, setNumThreads, tidy } from '../src/index.js';
import { createEmbeddingNet } from '../src/models/registry.js';
import { createHead } from '../src/losses/registry.js';
import { fuseConvBatchNorm } from '../src/nn/fuse.js';
import { imagesToTensor } from '../src/inference/index.js';
import { exportOnnx } from '../src/export/export-onnx.js';
import { formatTable } from '../src/util/table.js';

export interface OnnxBenchResult {
  images: number;
  threads: number;
  /** Median ms per batch of `images` images. */
  ours_ms: number;
  onnxruntime_ms: number;
  /** ours / ONNX Runtime (below 1: ours is faster). */
  ratio_to_onnxruntime: number;
  export_ms: number;
  file_mib: number;
  /** [ours, onnxruntime] medians per round. */
  rounds: number[][];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function syntheticImages(n: number): Uint8Array {
  return Uint8Array.from({ length: n * 32 * 32 * 3 }, (_, i) => (i * 2654435761) >>> 24);
}

/** Returns null (with a message on stderr) when onnxruntime-node is not installed. */
export async function onnxBenchmark(o: { images?: number; rounds?: number; iterations?: number; warmup?: number } = {}): Promise<OnnxBenchResult | null> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    process.stderr.write('onnx bench: onnxruntime-node is not installed (a devDependency); skipped\n');
    return null;
  }
  const images = o.images ?? 1000;
  const rounds = o.rounds ?? 3;
  const iterations = o.iterations ?? 10;
  const warmup = o.warmup ?? 3;
  const threads = getNumThreads();
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.5, inputSize: 32 });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 10 });
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-onnx-'));
  try {
    const t0 = performance.now();
    const exported = await exportOnnx(model, join(dir, 'seed.onnx'), { head, output: 'logits' });
    const exportMs = performance.now() - t0;
    fuseConvBatchNorm(model.toChannelsLast());
    head.eval();
    const pixels = syntheticImages(images);
    const batch = { images: pixels, size: images, height: 32, width: 32, channels: 3 };
    const session = await ort.InferenceSession.create(exported.path, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const feeds = { images: new ort.Tensor('uint8', pixels, [images, 32, 32, 3]) };
    const ours = (): number => noGrad(() => tidy(() => head.logits(model.forward(imagesToTensor(batch))).dataSync().length));
    const theirs = async (): Promise<number> => (await session.run(feeds)).logits.data.length;
    const timeOurs = (): number => {
      const ts: number[] = [];
      for (let i = 0; i < warmup + iterations; i++) {
        const t = performance.now();
        ours();
        if (i >= warmup) ts.push(performance.now() - t);
      }
      return median(ts);
    };
    const timeTheirs = async (): Promise<number> => {
      const ts: number[] = [];
      for (let i = 0; i < warmup + iterations; i++) {
        const t = performance.now();
        await theirs();
        if (i >= warmup) ts.push(performance.now() - t);
      }
      return median(ts);
    };
    const perRound: number[][] = [];
    for (let r = 0; r < rounds; r++) {
      perRound.push([timeOurs(), await timeTheirs()]);
      process.stderr.write(`  round ${r + 1}: ours ${perRound[r][0].toFixed(1)} ms, onnxruntime ${perRound[r][1].toFixed(1)} ms\n`);
    }
    await session.release();
    const oursMs = median(perRound.map((x) => x[0]));
    const ortMs = median(perRound.map((x) => x[1]));
    return {
      images, threads, ours_ms: oursMs, onnxruntime_ms: ortMs, ratio_to_onnxruntime: median(perRound.map((x) => x[0] / x[1])),
      export_ms: exportMs, file_mib: exported.fileBytes / 2 ** 20, rounds: perRound,
    };
  } finally {
    model.dispose();
    head.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  if (arg('--threads')) setNumThreads(Number(arg('--threads')));
  const quick = args.includes('--quick');
  const r = await onnxBenchmark({ images: Number(arg('--images') ?? 1000), rounds: quick ? 1 : 3, iterations: quick ? 3 : 10, warmup: quick ? 1 : 3 });
  if (!r) return;
  process.stdout.write(`${formatTable([
    { benchmark: `seed model, ${r.images} images → logits, ms`, ours: r.ours_ms.toFixed(1), onnxruntime: r.onnxruntime_ms.toFixed(1), ratio: r.ratio_to_onnxruntime.toFixed(2) },
  ])}\n\n${JSON.stringify({ onnx: r }, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

// Data-parallel benchmarks (keys `distributed.*` of bench/results.json): one CIFAR-10 epoch of the
// seed's model trained by the CLI with `--nproc 2` (1 libtorch thread each) against one process
// with 2 threads, and against PyTorch's DistributedDataParallel in the same 2 × 1 layout
// (peer_torch_ddp.py); plus the allreduce time of each backbone's gradients between 2 ranks.
// Standalone: node dist/bench/distributed.js [--max-train N] [--max-val N] [--skip-peer] [--synthetic N]
// (timings need a quiet machine; --synthetic only checks that everything runs)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmbeddingNet } from '../src/models/registry.js';
import { loadCifar10 } from '../src/data/sources/cifar10.js';
import { stratifiedSubset } from '../src/data/splits.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { distributedSupport } from '../src/distributed/process-group.js';
import { formatTable } from '../src/util/table.js';
import { peerEnv } from './peer-env.js';
import { writeCifarBinary } from './cifar-binary.js';

const PYTHON = '/usr/bin/python3';
const PEER = resolve('../shared/bench/peer_torch_ddp.py');
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ALLREDUCE_WORKER = fileURLToPath(new URL('./allreduce-worker.js', import.meta.url));

export interface DistributedBench {
  train_images: number;
  /** Training seconds of the epoch (rank 0's clock for --nproc 2), and the whole command's wall time. */
  nproc2: { train_s: number; wall_s: number };
  threads2: { train_s: number; wall_s: number };
  ratio_nproc2_to_threads2: number;
  pytorch_ddp: { train_s: number; eval_s: number } | null;
  ratio_nproc2_to_pytorch_ddp: number | null;
  /** Per backbone: parameters, float32 bytes allreduced per step, and the median allreduce ms between 2 local ranks. */
  allreduce: Record<string, { parameters: number; bytes: number; ms_2_ranks: number }>;
}

/** Runs the CLI; returns its wall time and rank 0's epoch training seconds from results.json. */
function runCli(args: string[], out: string, env: NodeJS.ProcessEnv): Promise<{ train_s: number; wall_s: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'train', ...args, '--out', out], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`deepmetric train ${args.join(' ')} failed (${code}): ${stderr.slice(-2000)}`));
      const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      resolvePromise({ train_s: r.heads[0].history[0].seconds, wall_s: (performance.now() - t0) / 1000 });
    });
  });
}

function allreduceMs(sizes: number[], repeats: number): Promise<Record<string, number>> {
  const rendezvous = join(mkdtempSync(join(tmpdir(), 'dm-bench-rdv-')), 'store');
  const ranks = [0, 1].map((rank) => new Promise<string>((res, rej) => {
    const child = spawn(process.execPath, [ALLREDUCE_WORKER, String(repeats), ...sizes.map(String)], {
      env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1', RANK: String(rank), WORLD_SIZE: '2', DEEPMETRIC_INIT_METHOD: `file://${rendezvous}`, GLOG_minloglevel: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`allreduce rank ${rank} exited ${code}`))));
  }));
  return Promise.all(ranks).then(([out0]) => JSON.parse(out0.trim()));
}

export async function distributedBench(o: { train: ImageDataset; test: ImageDataset; maxTrain?: number; peer?: boolean; log?: (s: string) => void }): Promise<DistributedBench | { skipped: string }> {
  const support = distributedSupport();
  if (!support.gloo) return { skipped: support.reason };
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const train = o.maxTrain && o.maxTrain < o.train.labels.length ? stratifiedSubset(o.train, { size: o.maxTrain, seed: 0 }) : o.train;
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-dist-'));
  try {
    writeCifarBinary(dir, train, o.test);
    // The seed's settings: MobileNetV2 α=0.5, softmax head, batch 128, Adam AMSGrad lr 1e-4, pixels/255.
    const seedArgs = ['--head', 'softmax', '--data', dir, '--cache-dir', join(dir, 'cache'), '--epochs', '1', '--batch-size', '128', '--lr', '1e-4'];
    const env = { DEEPMETRIC_NUM_THREADS: '1', RANK: '', WORLD_SIZE: '' };
    log(`distributed: one epoch of ${train.labels.length} images with --nproc 2 (1 thread each)…`);
    const nproc2 = await runCli([...seedArgs, '--nproc', '2'], join(dir, 'nproc2'), env);
    log('distributed: the same epoch in one process with 2 threads…');
    const threads2 = await runCli([...seedArgs, '--threads', '2'], join(dir, 'threads2'), env);
    let ddp: DistributedBench['pytorch_ddp'] = null;
    if ((o.peer ?? true) && existsSync(PEER)) {
      log('distributed: PyTorch DDP, 2 ranks × 1 thread…');
      try {
        const out = execFileSync(PYTHON, [PEER, dir, 'normal', '1', '2', '1'], { encoding: 'utf8', maxBuffer: 1 << 24, env: peerEnv() });
        const line = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!);
        ddp = { train_s: line.train_s, eval_s: line.eval_s };
      } catch (e) {
        log(`distributed: the PyTorch DDP peer failed: ${(e as Error).message.slice(0, 500)}`);
      }
    }
    log('distributed: allreduce of each backbone\'s gradients between 2 ranks…');
    const backbones = ['mobilenetv2', 'mobilenetv2-cifar', 'resnet18-cifar', 'convnet'];
    const params = Object.fromEntries(backbones.map((name) => {
      const net = createEmbeddingNet({ name, alpha: 0.5 });
      // The seed's softmax head over 10 classes rides in the same allreduce.
      const n = net.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0) + (net.embeddingDim + 1) * 10;
      net.dispose();
      return [name, n];
    }));
    const times = await allreduceMs(backbones.map((b) => params[b] * 4), 20);
    const allreduce = Object.fromEntries(backbones.map((b) => [b, { parameters: params[b], bytes: params[b] * 4, ms_2_ranks: times[params[b] * 4] }]));
    return {
      train_images: train.labels.length,
      nproc2,
      threads2,
      ratio_nproc2_to_threads2: nproc2.train_s / threads2.train_s,
      pytorch_ddp: ddp,
      ratio_nproc2_to_pytorch_ddp: ddp ? nproc2.train_s / ddp.train_s : null,
      allreduce,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function randomImages(n: number): ImageDataset {
  const images = new Uint8Array(n * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), height: 32, width: 32, channels: 3, classes: Array.from({ length: 10 }, (_, i) => `c${i}`) };
}

export function distributedRows(d: DistributedBench | { skipped: string }): Record<string, string>[] {
  if ('skipped' in d) return [{ benchmark: 'distributed', ours: 'skipped', pytorch: '', ratio: '', goal: d.skipped }];
  const f = (x: number | null, n = 1): string => (x === null ? 'n/a' : x.toFixed(n));
  return [
    { benchmark: `epoch (${d.train_images} img) --nproc 2 vs 1 proc × 2 threads, s`, ours: f(d.nproc2.train_s), pytorch: f(d.threads2.train_s), ratio: f(d.ratio_nproc2_to_threads2, 2), goal: '≤ 0.65' },
    { benchmark: `epoch (${d.train_images} img) --nproc 2 vs PyTorch DDP 2×1, s`, ours: f(d.nproc2.train_s), pytorch: f(d.pytorch_ddp?.train_s ?? null), ratio: f(d.ratio_nproc2_to_pytorch_ddp, 2), goal: '≤ 1.0' },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const maxArg = args.indexOf('--max-train');
  // --synthetic N: N random 32×32 images (a smoke test of the script without decoding CIFAR-10).
  const synth = args.indexOf('--synthetic');
  const { train, test } = synth >= 0 ? { train: randomImages(Number(args[synth + 1])), test: randomImages(500) } : await loadCifar10({ split: 'both' });
  const maxVal = args.indexOf('--max-val');
  const d = await distributedBench({
    train, test: maxVal >= 0 ? stratifiedSubset(test, { size: Number(args[maxVal + 1]), seed: 1 }) : test,
    maxTrain: maxArg >= 0 ? Number(args[maxArg + 1]) : undefined, peer: !args.includes('--skip-peer'),
  });
  process.stdout.write(`${JSON.stringify({ distributed: d }, null, 2)}\n\n${formatTable(distributedRows(d))}\n`);
}

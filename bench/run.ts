// The benchmark suite (`npm run bench`, `npm run bench -- --quick`): per-op overhead, the seed's
// MobileNetV2 training step and inference against PyTorch (same libtorch, same threads, alternated),
// the input pipeline, a full CIFAR-10 epoch against PyTorch, and memory over many steps.
// Prints a table and writes bench/results.json. Never run by CI: timings need a quiet machine.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { F, getNumThreads, liveTensors, manualSeed, noGrad, randint, randn, setNumThreads, tidy, torchVersion, type Tensor } from '../src/index.js';
import { createEmbeddingNet } from '../src/models/registry.js';
import { fuseConvBatchNorm } from '../src/nn/fuse.js';
import { createHead } from '../src/losses/registry.js';
import { Adam } from '../src/optim/optimizer.js';
import { loadCifar10 } from '../src/data/sources/cifar10.js';
import { DataLoader } from '../src/data/loading/loader.js';
import { CIFAR10_AUGMENT } from '../src/data/loading/transforms.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../src/data/sources/cifar10-constants.js';
import { imagesToTensor } from '../src/inference/index.js';
import { labelsToTensor } from '../src/train/batch-tensors.js';
import { train } from '../src/train/trainer.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { formatTable } from '../src/util/table.js';
import type { StreamingResult } from './streaming.js';
import { onnxBenchmark } from './onnx.js';
import { detectorBench } from './detector.js';
import { writeCifarBinary } from './cifar-binary.js';
import { distributedBench, distributedRows } from './distributed.js';
import { autoencoderBench } from './autoencoder.js';
import { serveBench } from './serve.js';
import { smallOpsBench } from './small-ops.js';
import { peerEnv } from './peer-env.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const skipPeer = args.includes('--skip-peer');
const threadsArg = args.indexOf('--threads');
if (threadsArg >= 0) setNumThreads(Number(args[threadsArg + 1]));
const threads = getNumThreads();
const PYTHON = '/usr/bin/python3';
const PEER_DIR = resolve('../shared/bench');
const peerAvailable = !skipPeer && existsSync(join(PEER_DIR, 'peer_torch_step.py')) && (() => {
  try { execFileSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }); return true; } catch { return false; }
})();
const ROUNDS = quick ? 1 : 3;
const PER_OP_ROUNDS = quick ? 1 : 7;
const STEPS = quick ? 20 : 30;
const WARMUP = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

function peer(script: string, extra: string[], env = peerEnv()): Record<string, number> {
  const out = execFileSync(PYTHON, [resolve(PEER_DIR, script), ...extra], { encoding: 'utf8', maxBuffer: 1 << 24, env });
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]);
}

function ourPerOp(): { add_us: number; conv2d_us: number } {
  return tidy(() => {
    const a = randn([4]);
    const x = randn([1, 8, 8, 8]);
    const w = randn([8, 8, 3, 3]);
    // As bench/peer_op_overhead.py times PyTorch: 100 warm-up ops, then the median of 5 passes of n.
    const time = (fn: () => Tensor, n: number): number => {
      for (let i = 0; i < 100; i++) fn().dispose();
      const passes: number[] = [];
      for (let p = 0; p < 5; p++) {
        const t = performance.now();
        for (let i = 0; i < n; i++) fn().dispose();
        passes.push(((performance.now() - t) * 1000) / n);
      }
      return median(passes);
    };
    return { add_us: time(() => a.add(a), 20000), conv2d_us: time(() => F.conv2d(x, w, null, { padding: 1 }), 5000) };
  });
}

/** Per-op cost, ours and PyTorch's from Python (bench/peer_op_overhead.py, same ops), alternated. */
function perOp(): { add_us: number; conv2d_us: number; add_pytorch_us: number | null; conv2d_pytorch_us: number | null;
  add_ratio_to_pytorch: number | null; conv2d_ratio_to_pytorch: number | null; rounds: { ours: number[]; pytorch: number[] | null }[] } {
  const rounds: { ours: number[]; pytorch: number[] | null }[] = [];
  // A µs-sized op swings by ±30 % between rounds on a shared machine: more rounds than the other
  // benchmarks (they are cheap), and the order of the two sides alternated so that drift cancels.
  for (let r = 0; r < PER_OP_ROUNDS; r++) {
    const runPeer = () => (peerAvailable ? peer(resolve('bench', 'peer_op_overhead.py'), ['--time', String(threads)]) : null);
    let o: ReturnType<typeof ourPerOp>;
    let p: ReturnType<typeof runPeer>;
    if (r % 2 === 0) { o = ourPerOp(); p = runPeer(); } else { p = runPeer(); o = ourPerOp(); }
    rounds.push({ ours: [o.add_us, o.conv2d_us], pytorch: p ? [p.add_us, p.conv2d_us] : null });
    log(`  round ${r + 1}: add ${o.add_us.toFixed(2)} µs (pytorch ${p ? p.add_us.toFixed(2) : 'n/a'}), conv2d ${o.conv2d_us.toFixed(1)} µs (pytorch ${p ? p.conv2d_us.toFixed(1) : 'n/a'})`);
  }
  const col = (k: 0 | 1, side: 'ours' | 'pytorch'): number | null => (rounds[0][side] ? median(rounds.map((x) => x[side]![k])) : null);
  const ratio = (k: 0 | 1): number | null => (rounds[0].pytorch ? median(rounds.map((x) => x.ours[k] / x.pytorch![k])) : null);
  return {
    add_us: col(0, 'ours')!, conv2d_us: col(1, 'ours')!, add_pytorch_us: col(0, 'pytorch'), conv2d_pytorch_us: col(1, 'pytorch'),
    add_ratio_to_pytorch: ratio(0), conv2d_ratio_to_pytorch: ratio(1), rounds,
  };
}

/** The seed's model: Keras MobileNetV2 α=0.5 (32×32) + global average pooling + softmax head. */
function seedModel() {
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.5, inputSize: 32 }).toChannelsLast();
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 10 });
  return { model, head };
}

function ourStepMs(): number {
  const { model, head } = seedModel();
  const opt = new Adam([...model.parameters(), ...head.parameters()], { lr: 1e-4, amsgrad: true });
  const { x, y } = tidy(() => ({ x: randn([128, 3, 32, 32]).contiguous('channels_last'), y: randint(0, 10, [128]) }));
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const t = performance.now();
    tidy(() => {
      opt.zeroGrad();
      head.loss(model.forward(x), y).backward();
      opt.step();
    });
    if (i >= WARMUP) times.push(performance.now() - t);
  }
  opt.dispose(); model.dispose(); head.dispose(); x.dispose(); y.dispose();
  return median(times);
}

function ourInferenceMs(): number {
  const { model, head } = seedModel();
  fuseConvBatchNorm(model); // BatchNorm folded into the convolutions: the model is inference-only now
  head.eval();
  const x = tidy(() => randn([1000, 3, 32, 32]).contiguous('channels_last'));
  const times: number[] = [];
  noGrad(() => {
    for (let i = 0; i < WARMUP + (quick ? 5 : 15); i++) {
      const t = performance.now();
      tidy(() => head.logits(model.forward(x)));
      if (i >= WARMUP) times.push(performance.now() - t);
    }
  });
  model.dispose(); head.dispose(); x.dispose();
  return median(times);
}

/**
 * Ours and the PyTorch peer in alternated rounds (and, given sameSettings, the peer again with the
 * process settings deepmetric makes at load: see bench/peer-env.ts), medians of the rounds.
 */
function alternate(ours: () => number, theirs: () => number, sameSettings?: () => number): {
  ours_ms: number; pytorch_ms: number | null; ratio_to_pytorch: number | null; rounds: number[][];
  pytorch_same_settings_ms?: number | null; ratio_to_pytorch_same_settings?: number | null;
} {
  const rounds: number[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const o = ours();
    const p = peerAvailable ? theirs() : NaN;
    const s = peerAvailable && sameSettings ? sameSettings() : NaN;
    rounds.push(sameSettings ? [o, p, s] : [o, p]);
    log(`  round ${r + 1}: ours ${o.toFixed(1)} ms, pytorch ${Number.isNaN(p) ? 'n/a' : `${p.toFixed(1)} ms`}${sameSettings ? `, pytorch with the same settings ${Number.isNaN(s) ? 'n/a' : `${s.toFixed(1)} ms`}` : ''}`);
  }
  const o = median(rounds.map((x) => x[0]));
  const col = (k: number): number | null => (peerAvailable ? median(rounds.map((x) => x[k])) : null);
  const ratio = (k: number): number | null => (peerAvailable ? median(rounds.map((x) => x[0] / x[k])) : null);
  return {
    ours_ms: o, pytorch_ms: col(1), ratio_to_pytorch: ratio(1),
    ...(sameSettings ? { pytorch_same_settings_ms: col(2), ratio_to_pytorch_same_settings: ratio(2) } : {}),
    rounds,
  };
}

async function pipeline(train: ImageDataset): Promise<{ images_per_s: number }> {
  const limit = quick ? 20000 : train.labels.length;
  const loader = new DataLoader(train, { batchSize: 128, augment: CIFAR10_AUGMENT, seed: 1, dropLast: true });
  const t = performance.now();
  let n = 0;
  for await (const batch of loader.epoch(0)) {
    tidy(() => { imagesToTensor(batch, { kind: 'standard', mean: CIFAR10_MEAN, std: CIFAR10_STD }); labelsToTensor(batch.labels); });
    n += batch.size;
    if (n >= limit) break;
  }
  return { images_per_s: n / ((performance.now() - t) / 1000) };
}

async function epoch(trainSet: ImageDataset, testSet: ImageDataset): Promise<{ ours_s: number; pytorch_s: number | null; ratio_to_pytorch: number | null; steps: number }> {
  // The seed's settings: batch 128, Adam AMSGrad lr 1e-4, no augmentation, pixels/255, then evaluation.
  const limitSteps = quick ? 40 : undefined;
  const { model, head } = seedModel();
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-epoch-'));
  const t = performance.now();
  const r = await train({
    model, head, train: trainSet, val: testSet, dir, log: () => {}, progressStream: { write: () => true, isTTY: false }, maxSteps: limitSteps,
    config: { epochs: 1, batchSize: 128, optimizer: { name: 'adam', lr: 1e-4, amsgrad: true }, seed: 0, normalization: { kind: 'unit' }, dropLast: false },
  });
  const oursS = (performance.now() - t) / 1000;
  model.dispose(); head.dispose();
  let theirs: number | null = null;
  if (peerAvailable) {
    writeCifarBinary(dir, trainSet, testSet);
    const p = peer('peer_torch_epochs.py', [dir, 'normal', '1', String(threads), ...(limitSteps ? [String(limitSteps)] : [])]);
    theirs = p.train_s + p.eval_s;
  }
  rmSync(dir, { recursive: true, force: true });
  void r;
  return { ours_s: oursS, pytorch_s: theirs, ratio_to_pytorch: theirs ? oursS / theirs : null, steps: limitSteps ?? Math.ceil(trainSet.labels.length / 128) };
}

function memory(): { steps: number; live_tensor_delta: number; rss_growth_pct: number; rss_mb_after_warmup: number; rss_mb_end: number } {
  const steps = quick ? 400 : 2000;
  const { model, head } = seedModel();
  const opt = new Adam([...model.parameters(), ...head.parameters()], { lr: 1e-4, amsgrad: true });
  const base = liveTensors();
  let rssWarm = 0;
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      const x = randn([32, 3, 32, 32]).contiguous('channels_last');
      const y = randint(0, 10, [32]);
      opt.zeroGrad();
      const loss = head.loss(model.forward(x), y);
      loss.backward();
      opt.step();
      loss.item();
    });
    if (i === Math.floor(steps / 10)) rssWarm = process.memoryUsage().rss;
  }
  const rssEnd = process.memoryUsage().rss;
  const delta = liveTensors() - base;
  opt.dispose(); model.dispose(); head.dispose();
  return { steps, live_tensor_delta: delta, rss_growth_pct: (100 * (rssEnd - rssWarm)) / rssWarm, rss_mb_after_warmup: rssWarm / 2 ** 20, rss_mb_end: rssEnd / 2 ** 20 };
}

async function main(): Promise<void> {
  log(`deepmetric bench${quick ? ' --quick' : ''}: libtorch ${torchVersion()}, ${threads} threads, PyTorch peer ${peerAvailable ? 'on' : 'off'}`);
  log('per-op overhead…');
  const per_op = perOp();
  log('MobileNetV2-0.5 training step (batch 128)…');
  const stepArgs = ['--steps', String(STEPS), '--warmup', String(WARMUP), '--threads', String(threads)];
  const train_step = alternate(ourStepMs, () => peer('peer_torch_step.py', stepArgs).median_ms,
    () => peer('peer_torch_step.py', stepArgs, peerEnv('same-settings')).median_ms);
  log('inference of 1000 images…');
  const inference = alternate(ourInferenceMs, () => peer('peer_torch_step.py', ['--infer', '--steps', quick ? '5' : '15', '--warmup', String(WARMUP), '--threads', String(threads)]).median_ms);
  log('ONNX Runtime vs ours, seed model on 1000 images…');
  const onnx = await onnxBenchmark({ images: 1000, rounds: ROUNDS, iterations: quick ? 5 : 15, warmup: WARMUP });
  log('loading CIFAR-10…');
  const { train: trainSet, test: testSet } = await loadCifar10({ split: 'both' });
  log('input pipeline…');
  const pipe = await pipeline(trainSet);
  log(`CIFAR-10 epoch with evaluation${quick ? ' (40 steps)' : ''}…`);
  const ep = await epoch(trainSet, testSet);
  log(`data parallel: CIFAR-10 epoch with --nproc 2${quick ? ' (5,120 images)' : ''}…`);
  const distributed = await distributedBench({ train: trainSet, test: testSet, maxTrain: quick ? 5120 : undefined, peer: peerAvailable, log });
  log(`memory over ${quick ? 400 : 2000} training steps…`);
  const mem = memory();
  log(`small custom-loss loop, ${quick ? '2,000' : '10,000'} steps…`);
  const smallOps = smallOpsBench({ steps: quick ? 2000 : 10_000 });
  log('detector: scoring 32×32 JPEG files, loading the file…');
  const det = await detectorBench({ files: quick ? 2000 : 10_000, log });
  log('autoencoder training step (batch 128)…');
  const autoencoder = autoencoderBench({ quick });
  const streamImages = quick ? 20000 : 100000;
  log(`streaming ${streamImages} 64×64 images from a cache file…`);
  // Its own process, so the RSS measured is the streaming loader's alone.
  const streaming = JSON.parse(execFileSync(process.execPath, [join('dist', 'bench', 'streaming.js'), '--images', String(streamImages), '--json'], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as StreamingResult;
  log('serve: 32 concurrent clients scoring single 32×32 JPEGs over loopback…');
  const serve = await serveBench({ requests: quick ? 500 : 2000, clients: 32, log });
  const results = {
    date: new Date().toISOString(), quick, threads, versions: { libtorch: torchVersion(), node: process.versions.node },
    per_op, train_step, inference, onnx, pipeline: pipe, epoch: ep, distributed, memory: { ...mem, ...smallOps }, score: det.score, detector: det.detector, autoencoder, streaming, serve,
  };
  mkdirSync('bench', { recursive: true });
  writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
  const f = (x: number | null, d = 1): string => (x === null ? 'n/a' : x.toFixed(d));
  process.stdout.write(`${formatTable([
    { benchmark: 'add (4 floats), µs per op', ours: f(per_op.add_us, 2), pytorch: f(per_op.add_pytorch_us, 2), ratio: f(per_op.add_ratio_to_pytorch, 2), goal: '≤ 1.0' },
    { benchmark: 'conv2d [1,8,8,8] 3×3, µs per op', ours: f(per_op.conv2d_us, 1), pytorch: f(per_op.conv2d_pytorch_us, 1), ratio: f(per_op.conv2d_ratio_to_pytorch, 2), goal: '≤ 1.0' },
    { benchmark: 'MobileNetV2-0.5 train step b128, ms', ours: f(train_step.ours_ms), pytorch: f(train_step.pytorch_ms), ratio: f(train_step.ratio_to_pytorch, 2), goal: '≤ 0.9' },
    { benchmark: '  PyTorch given our malloc/OpenBLAS settings', ours: f(train_step.ours_ms), pytorch: f(train_step.pytorch_same_settings_ms ?? null), ratio: f(train_step.ratio_to_pytorch_same_settings ?? null, 2), goal: '' },
    { benchmark: 'inference of 1000 images, ms', ours: f(inference.ours_ms), pytorch: f(inference.pytorch_ms), ratio: f(inference.ratio_to_pytorch, 2), goal: '≤ 0.8' },
    { benchmark: '1000 images uint8 → logits, ms (peer: ONNX Runtime)', ours: f(onnx?.ours_ms ?? null), pytorch: f(onnx?.onnxruntime_ms ?? null), ratio: f(onnx?.ratio_to_onnxruntime ?? null, 2), goal: '' },
    { benchmark: `CIFAR-10 epoch + eval, s${quick ? ' (40 steps)' : ''}`, ours: f(ep.ours_s), pytorch: f(ep.pytorch_s), ratio: f(ep.ratio_to_pytorch, 2), goal: '≤ 1.0' },
    ...distributedRows(distributed),
    { benchmark: 'pipeline (cache → augment → tensor), img/s', ours: f(pipe.images_per_s, 0), pytorch: '', ratio: '', goal: '≥ 20000' },
    { benchmark: `score ${det.score.files} JPEG files with a detector, img/s`, ours: f(det.score.images_per_s, 0), pytorch: '', ratio: '', goal: '≥ 2000' },
    { benchmark: 'load a detector file, ms', ours: f(det.detector.load_ms, 0), pytorch: '', ratio: '', goal: '< 1000' },
    { benchmark: `streaming ${streaming.images} 64×64 from cache, img/s`, ours: f(streaming.images_per_s, 0), pytorch: '', ratio: '', goal: '≥ 5000' },
    { benchmark: '  its peak RSS, MB', ours: f(streaming.rss_peak_mb, 0), pytorch: '', ratio: '', goal: '< 1024' },
    { benchmark: `serve: ${serve.requests} requests, ${serve.clients} clients, errors`, ours: String(serve.errors), pytorch: '', ratio: '', goal: '0' },
    { benchmark: 'serve: latency p50 / p99, ms', ours: `${f(serve.p50_ms)} / ${f(serve.p99_ms)}`, pytorch: '', ratio: '', goal: '' },
    { benchmark: 'serve: img/s (peer: offline score, same files)', ours: f(serve.images_per_s, 0), pytorch: f(serve.offline_images_per_s, 0), ratio: f(serve.ratio_to_offline, 2), goal: '≥ 0.7' },
    { benchmark: 'serve: RSS after the run vs after warm-up, %', ours: f(serve.rss_growth_pct, 1), pytorch: '', ratio: '', goal: '< 10' },
    { benchmark: `RSS growth over ${mem.steps} steps, %`, ours: f(mem.rss_growth_pct, 1), pytorch: '', ratio: '', goal: '< 10' },
    { benchmark: 'live tensors after − before', ours: String(mem.live_tensor_delta), pytorch: '', ratio: '', goal: '0' },
    { benchmark: `small custom-loss loop (${smallOps.small_ops_per_step} ops/step), µs per step`, ours: f(smallOps.small_ops_us_per_step, 0), pytorch: '', ratio: '', goal: '' },
    { benchmark: `  RSS growth over ${smallOps.small_ops_steps} steps, %`, ours: f(smallOps.small_ops_rss_growth_pct, 1), pytorch: '', ratio: '', goal: '< 10' },
    { benchmark: '  live tensors after − before', ours: String(smallOps.small_ops_live_tensor_delta), pytorch: '', ratio: '', goal: '0' },
    { benchmark: 'autoencoder train step b128, img/s', ours: f(autoencoder.images_per_s, 0), pytorch: f(autoencoder.pytorch_images_per_s, 0), ratio: f(autoencoder.ratio_to_pytorch, 2), goal: '' },
    { benchmark: `  after ${autoencoder.late_after_steps} more steps, img/s`, ours: f(autoencoder.late_images_per_s, 0), pytorch: '', ratio: '', goal: '' },
  ])}\n\nWrote bench/results.json\n`);
}

await main();

// Pretrained backbones benchmark (keys pretrained.*): embedding N images (default 10,000 at 224×224)
// with torchvision's ResNet-18 and MobileNetV2 architectures as `deepmetric embed --weights` does —
// uint8 NHWC pixels → ImageNet normalisation → backbone (eval, BatchNorm folded, channels-last) →
// global average pooling — against PyTorch doing the same in the same run (bench/peer_torch_embed.py).
// Random weights: the speed does not depend on their values. Never a timed test; the lead runs it alone.
//   npx tsc -p . && node dist/bench/pretrained.js [--images 10000] [--size 224] [--batch 64] [--threads N] [--models resnet18,mobilenet_v2] [--skip-peer]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads, manualSeed, setNumThreads, tidy, torchVersion } from '../src/index.js';
import { createEmbeddingNet } from '../src/models/registry.js';
import { fuseConvBatchNorm } from '../src/nn/fuse.js';
import { embedDataset } from '../src/inference/index.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { IMAGENET_NORMALIZATION } from '../src/weights/normalization.js';
import { peerEnv } from './peer-env.js';
import { formatTable } from '../src/util/table.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const images = arg('--images', 10_000);
const size = arg('--size', 224);
const batch = arg('--batch', 64);
const pool = Math.min(images, arg('--pool', 500));
if (args.includes('--threads')) setNumThreads(arg('--threads', 1));
const threads = getNumThreads();
const models = args.includes('--models') ? args[args.indexOf('--models') + 1].split(',') : ['resnet18', 'mobilenet_v2'];
const skipPeer = args.includes('--skip-peer');
const PYTHON = '/usr/bin/python3';
const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, here.includes('dist') ? join('..', '..') : '..', 'bench', 'peer_torch_embed.py');
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

/** A pool of synthetic images, embedded cyclically until N embeddings are made. */
function syntheticPool(): ImageDataset {
  const pixels = new Uint8Array(pool * size * size * 3);
  let state = 1;
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    pixels[i] = state >>> 24;
  }
  return { images: pixels, labels: new Int32Array(pool), height: size, width: size, channels: 3, classes: ['x'] };
}

function ours(model: string, data: ImageDataset): number {
  manualSeed(0);
  const net = createEmbeddingNet({ name: `torchvision-${model}` });
  fuseConvBatchNorm(net.toChannelsLast());
  // Warm-up, as the peer: one batch.
  tidy(() => embedDataset(net, { ...data, labels: data.labels.subarray(0, batch), images: data.images.subarray(0, batch * size * size * 3) }, { norm: IMAGENET_NORMALIZATION, batchSize: batch }));
  const t = performance.now();
  let done = 0;
  while (done < images) {
    const n = Math.min(pool, images - done);
    const part = n === pool ? data : { ...data, labels: data.labels.subarray(0, n), images: data.images.subarray(0, n * size * size * 3) };
    tidy(() => embedDataset(net, part, { norm: IMAGENET_NORMALIZATION, batchSize: batch }));
    done += n;
  }
  const seconds = (performance.now() - t) / 1000;
  net.dispose();
  return seconds;
}

function theirs(model: string): number | null {
  if (skipPeer) return null;
  try {
    const out = execFileSync(PYTHON, [PEER, '--model', model, '--images', String(images), '--size', String(size), '--batch', String(batch),
      '--pool', String(pool), '--threads', String(threads), '--warmup', '1'], { encoding: 'utf8', env: peerEnv() });
    return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!).seconds;
  } catch (e) {
    log(`  PyTorch peer unavailable: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const data = syntheticPool();
log(`pretrained bench: ${images} images at ${size}×${size}, batch ${batch}, ${threads} threads, libtorch ${torchVersion()}`);
const pretrained: Record<string, { ours_s: number; pytorch_s: number | null; ratio_to_pytorch: number | null; ours_images_per_s: number }> = {};
for (const model of models) {
  log(`${model}…`);
  const o = ours(model, data);
  const p = theirs(model);
  pretrained[model] = { ours_s: o, pytorch_s: p, ratio_to_pytorch: p ? o / p : null, ours_images_per_s: images / o };
  log(`  ours ${o.toFixed(2)} s, pytorch ${p === null ? 'n/a' : `${p.toFixed(2)} s`}`);
}
const results = { date: new Date().toISOString(), threads, images, size, batch, versions: { libtorch: torchVersion(), node: process.versions.node }, pretrained };
mkdirSync('bench', { recursive: true });
writeFileSync('bench/results-pretrained.json', `${JSON.stringify(results, null, 2)}\n`);
const f = (x: number | null, d = 2): string => (x === null ? 'n/a' : x.toFixed(d));
process.stdout.write(`${formatTable(Object.entries(pretrained).map(([m, r]) => ({
  benchmark: `pretrained.${m}: embed ${images} images ${size}×${size}, s`, ours: f(r.ours_s), pytorch: f(r.pytorch_s), ratio: f(r.ratio_to_pytorch), goal: '≤ 1.0',
})))}\n\nWrote bench/results-pretrained.json\n`);

// The autoencoder baseline's training throughput (bench key `autoencoder`): images per second of a
// ConvAutoencoder training step (batch 128, Adam lr 1e-3, MSE on pixels / 255), early and after
// more steps (a drift between the two would show a slowdown late in training, e.g. from denormal
// floats), with the weights as trainAutoencoder leaves them and in channels-last memory, beside the
// same model in PyTorch (bench/peer_autoencoder.py) alternated with ours: a slowdown both share is
// the machine's load, not the code. `node dist/bench/autoencoder.js [--quick] [--threads N]`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getNumThreads, manualSeed, setNumThreads, tidy, type Tensor } from '../src/index.js';
import { ConvAutoencoder } from '../src/models/conv-autoencoder.js';
import { Adam } from '../src/optim/optimizer.js';
import { mseLoss } from '../src/nn/functional.js';
import { imagesToTensor } from '../src/inference/index.js';
import { formatTable } from '../src/util/table.js';
import { peerEnv } from './peer-env.js';

export interface AutoencoderBench {
  batch_size: number;
  threads: number;
  /** Median img/s over the first window of steps, as trainAutoencoder runs it (weights in default layout, input channels-last). */
  images_per_s: number;
  /** The same after `late_after_steps` more training steps. */
  late_images_per_s: number;
  late_after_steps: number;
  /** With the model's weights converted to channels-last (as the trainer does for the heads). */
  channels_last_images_per_s: number;
  /** PyTorch, same model and batch, channels-last; null without /usr/bin/python3 + torch. */
  pytorch_images_per_s: number | null;
  ratio_to_pytorch: number | null;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function batch(): Tensor {
  let state = 1;
  const bytes = Uint8Array.from({ length: 128 * 32 * 32 * 3 }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 24;
  });
  return imagesToTensor({ images: bytes, size: 128, height: 32, width: 32, channels: 3 });
}

/** Milliseconds of each of `steps` training steps after `skip` untimed ones. */
function stepTimes(o: { channelsLast: boolean; skip: number; steps: number }): { early: number[]; late: number[] } {
  manualSeed(0);
  const ae = new ConvAutoencoder();
  if (o.channelsLast) ae.toChannelsLast();
  const opt = new Adam(ae.parameters(), { lr: 1e-3 });
  const x = batch();
  const time = (): number => {
    const t = performance.now();
    tidy(() => {
      opt.zeroGrad();
      const l = mseLoss(ae.forward(x), x);
      l.backward();
      opt.step();
      l.item();
    });
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) time();
  const early = Array.from({ length: o.steps }, time);
  for (let i = 0; i < o.skip; i++) time();
  const late = o.skip > 0 ? Array.from({ length: o.steps }, time) : [];
  opt.dispose();
  ae.dispose();
  x.dispose();
  return { early, late };
}

function peerMs(steps: number, threads: number): number | null {
  const script = resolve('bench', 'peer_autoencoder.py');
  if (!existsSync(script) || !existsSync('/usr/bin/python3')) return null;
  try {
    const out = execFileSync('/usr/bin/python3', [script, '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8', env: peerEnv('default', { OMP_NUM_THREADS: String(threads) }) });
    return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!).median_ms;
  } catch {
    return null;
  }
}

export function autoencoderBench(o: { quick: boolean }): AutoencoderBench {
  const steps = o.quick ? 5 : 20;
  const skip = o.quick ? 20 : 400;
  const threads = getNumThreads();
  const perS = (ms: number): number => 128_000 / ms;
  const plain = stepTimes({ channelsLast: false, skip, steps });
  const cl = stepTimes({ channelsLast: true, skip: 0, steps });
  const theirs = peerMs(steps, threads);
  const ours = median(plain.early);
  return {
    batch_size: 128, threads,
    images_per_s: perS(ours), late_images_per_s: perS(median(plain.late)), late_after_steps: skip,
    channels_last_images_per_s: perS(median(cl.early)),
    pytorch_images_per_s: theirs === null ? null : perS(theirs),
    ratio_to_pytorch: theirs === null ? null : ours / theirs,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(join('dist', 'bench', 'autoencoder.js'))) {
  const args = process.argv.slice(2);
  const t = args.indexOf('--threads');
  if (t >= 0) setNumThreads(Number(args[t + 1]));
  const r = autoencoderBench({ quick: args.includes('--quick') });
  process.stdout.write(`${JSON.stringify({ autoencoder: r }, null, 2)}\n${formatTable([
    { benchmark: 'autoencoder train step b128, img/s', value: r.images_per_s.toFixed(0) },
    { benchmark: `  after ${r.late_after_steps} more steps, img/s`, value: r.late_images_per_s.toFixed(0) },
    { benchmark: '  weights channels-last, img/s', value: r.channels_last_images_per_s.toFixed(0) },
    { benchmark: '  PyTorch, img/s', value: r.pytorch_images_per_s?.toFixed(0) ?? 'n/a' },
  ])}\n`);
}

// One training run for the data-parallel tests: a small network without BatchNorm on generated
// images, through the real trainer; joins a group when started with torchrun's variables (else
// trains alone) and writes its final parameters to <out>/rank<r>.safetensors.
// Usage: train-worker.js OUT BATCH_SIZE MAX_STEPS
import { join } from 'node:path';
import { DataParallel } from '../../src/distributed/data-parallel.js';
import { train } from '../../src/train/trainer.js';
import { EmbeddingNet, type Backbone } from '../../src/models/embedding-net.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ReLU } from '../../src/nn/simple-layers.js';
import { createHead } from '../../src/losses/registry.js';
import { manualSeed, type Tensor } from '../../src/index.js';
import { saveSafetensors } from '../../src/serialize/safetensors.js';
import type { ImageDataset } from '../../src/data/dataset.js';

class TinyBackbone extends Sequential implements Backbone {
  readonly outChannels = 8;
  constructor() {
    super(new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }), ReLU(), new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2, padding: 1 }), ReLU());
  }
}

/** n images of 8×8 whose mean colour depends on the class, with seeded noise. */
export function colourImages(n: number, seed: number): ImageDataset {
  const classes = ['a', 'b', 'c', 'd'];
  const images = new Uint8Array(n * 8 * 8 * 3);
  const labels = new Int32Array(n);
  let s = seed;
  const rand = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes.length;
    for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) images[(i * 64 + p) * 3 + c] = Math.floor(60 * labels[i] * (c === labels[i] % 3 ? 1 : 0.3) + 80 * rand());
  }
  return { images, labels, height: 8, width: 8, channels: 3, classes };
}

const [out, batchArg, stepsArg] = process.argv.slice(2);
const dp = DataParallel.fromEnvironment({ timeoutSeconds: 10 });
try {
  // Ranks other than 0 start from other weights: rank 0's (the single process's) must be broadcast.
  manualSeed(dp && dp.rank > 0 ? 1000 + dp.rank : 0);
  const model = new EmbeddingNet(new TinyBackbone());
  const head = createHead('softmax', { embeddingDim: 8, numClasses: 4 });
  await train({
    model, head, train: colourImages(640, 1), val: colourImages(64, 2), dir: join(out, 'ckpt'), distributed: dp,
    config: { epochs: 2, batchSize: Number(batchArg), optimizer: { name: 'adam', lr: 0.01 }, seed: 3, normalization: { kind: 'unit' } },
    maxSteps: stepsArg === 'all' ? undefined : Number(stepsArg), log: () => {}, progressStream: { write: () => true },
  });
  const state: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) state[`model.${k}`] = t;
  for (const [k, t] of Object.entries(head.stateDict())) state[`head.${k}`] = t;
  saveSafetensors(join(out, `rank${dp?.rank ?? 0}.safetensors`), state);
  dp?.close(true);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  dp?.close();
  process.exitCode = 1;
}

// Training the convolutional autoencoder baseline (MSE on pixels / 255, Adam) and scoring images
// by their reconstruction error, with the same data loader and checkpoints as the heads.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { mseLoss } from '../nn/functional.js';
import { Adam } from '../optim/optimizer.js';
import { DataLoader } from '../data/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import { imagesToTensor } from '../train/batch-tensors.js';
import { datasetSlice, inEvalMode, ranges } from '../train/evaluate.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { ProgressBar, type ProgressStream } from '../util/progress.js';
import type { ConvAutoencoder } from '../models/conv-autoencoder.js';

export interface AutoencoderEpoch {
  epoch: number;
  train_loss: number;
  seconds: number;
  images_per_s: number;
}

export interface AutoencoderTrainRun {
  model: ConvAutoencoder;
  train: ImageDataset;
  epochs: number;
  batchSize: number;
  /** Adam learning rate (default 1e-3, the lecture's). */
  lr?: number;
  seed: number;
  device?: Device;
  /** last.ckpt goes here after every epoch. */
  dir: string;
  /** Continue from dir/last.ckpt when it exists. */
  resume?: boolean;
  label?: string;
  log?: (line: string) => void;
  progressStream?: ProgressStream;
}

export interface AutoencoderTrainResult {
  history: AutoencoderEpoch[];
  trainSeconds: number;
}

const UNIT = { kind: 'unit' } as const;

/** Trains model to reconstruct its inputs; the loss is the mean squared error over pixels in [0, 1]. */
export async function trainAutoencoder(run: AutoencoderTrainRun): Promise<AutoencoderTrainResult> {
  const { model } = run;
  const label = run.label ?? 'autoencoder';
  const log = run.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const device = run.device ?? 'cpu';
  mkdirSync(run.dir, { recursive: true });
  const lastPath = join(run.dir, 'last.ckpt');
  manualSeed(run.seed);
  const opt = new Adam(model.parameters(), { lr: run.lr ?? 1e-3 });
  let history: AutoencoderEpoch[] = [];
  let start = 0;
  try {
    if (run.resume && existsSync(lastPath)) {
      const ckpt = loadCheckpoint<AutoencoderEpoch[]>(lastPath);
      ckpt.restore({ modules: { autoencoder: model }, optimizer: opt });
      history = ckpt.history ?? [];
      start = ckpt.epoch;
      log(`${label}: resumed from ${lastPath} at epoch ${start}`);
    }
    const loader = new DataLoader(run.train, { batchSize: run.batchSize, shuffle: true, dropLast: run.train.labels.length > run.batchSize, seed: run.seed });
    for (let epoch = start; epoch < run.epochs; epoch++) {
      const bar = new ProgressBar({ total: loader.batchesPerEpoch * run.batchSize, label: `${label} epoch ${epoch + 1}/${run.epochs}`, unit: 'img', stream: run.progressStream });
      model.train();
      let lossSum = 0;
      let seen = 0;
      const t0 = performance.now();
      for await (const batch of loader.epoch(epoch)) {
        const loss = tidy(() => {
          const x = imagesToTensor(batch, UNIT, device);
          opt.zeroGrad();
          const l = mseLoss(model.forward(x), x);
          l.backward();
          opt.step();
          return l.item();
        });
        lossSum += loss * batch.size;
        seen += batch.size;
        bar.tick(batch.size, { loss: lossSum / seen });
      }
      bar.finish();
      const seconds = (performance.now() - t0) / 1000;
      history.push({ epoch: epoch + 1, train_loss: lossSum / seen, seconds, images_per_s: seen / seconds });
      saveCheckpoint(lastPath, { modules: { autoencoder: model }, optimizer: opt, epoch: epoch + 1, history,
        config: { epochs: run.epochs, batchSize: run.batchSize, lr: run.lr ?? 1e-3, seed: run.seed }, extra: { classes: run.train.classes } });
      log(`${label} epoch ${epoch + 1}/${run.epochs}: reconstruction MSE ${(lossSum / seen).toFixed(5)} | ${seconds.toFixed(1)} s, ${Math.round(seen / seconds)} img/s`);
    }
  } finally {
    opt.dispose();
  }
  return { history, trainSeconds: history.reduce((s, e) => s + e.seconds, 0) };
}

/** Per-image mean squared reconstruction error of every image of data, in eval mode without grad. */
export function reconstructionErrors(model: ConvAutoencoder, data: ImageDataset, o: { device?: Device; batchSize?: number } = {}): number[] {
  const out: number[] = [];
  inEvalMode([model], () => noGrad(() => {
    for (const [s, e] of ranges(data.labels.length, o.batchSize ?? 500)) {
      out.push(...tidy(() => model.reconstructionError(datasetSlice(data, s, e, UNIT, o.device ?? 'cpu')).to('cpu').toNumbers()));
    }
  }));
  return out;
}

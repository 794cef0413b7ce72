// Precise BatchNorm statistics (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm",
// arXiv:2105.07576): before each validation, the running mean/variance of every BatchNorm layer
// are recomputed as the plain average over a fixed slice of training images, instead of the
// exponential moving average left by training. Training itself never reads the running
// statistics (it normalises with each batch's own), so this changes only evaluation — and makes
// it meaningful from the first epoch: with Keras's momentum (0.999) the moving averages need
// ≈ 20 CIFAR-10 epochs to settle and validation sits at chance until then.
import { noGrad } from '../tensor/grad-mode.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import { stratifiedSubset } from '../data/splits.js';
import { datasetSlice, ranges, type InputNormalization } from '../inference/index.js';

/** The BatchNorm layers of a module tree. */
export function batchNormLayers(model: Module): Array<BatchNorm1d | BatchNorm2d> {
  return model.namedModules().map(([, m]) => m).filter((m): m is BatchNorm1d | BatchNorm2d => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
}

/**
 * Recomputes the running statistics of the BatchNorm layers in training mode as the cumulative
 * average over the batches of `data` (in order, no augmentation); layers in eval mode (e.g. a
 * frozen pretrained backbone) keep theirs. Call it with the modules in their training modes.
 * Returns the number of layers updated; restores their momentum.
 */
export function recalibrateBatchNorm(model: Module, data: AnyImageDataset, o: { norm: InputNormalization; device?: Device; batchSize?: number }): number {
  const layers = batchNormLayers(model).filter((layer) => layer.training);
  if (layers.length === 0 || data.labels.length === 0) return 0;
  const momenta = layers.map((layer) => layer.momentum);
  // --sync-bn: recalibration runs on rank 0 alone, on its own images, so it must not wait for the other ranks.
  const synced = layers.map((layer) => layer.allreduceStats);
  for (const layer of layers) layer.allreduceStats = null;
  try {
    noGrad(() => {
      let batch = 0;
      // Whole batches only: a last batch of one image cannot be normalised over a 1×1 map.
      const size = o.batchSize ?? 128;
      const usable = data.labels.length > size ? data.labels.length - (data.labels.length % size) : data.labels.length;
      for (const [start, end] of ranges(usable, size)) {
        // momentum 1/(k+1) on the k-th batch turns the moving average into the plain average.
        for (const layer of layers) layer.momentum = 1 / (batch + 1);
        tidy(() => {
          model.forward(datasetSlice(data, start, end, o.norm, o.device ?? 'cpu'));
        });
        batch++;
      }
    });
  } finally {
    for (const [i, layer] of layers.entries()) {
      layer.momentum = momenta[i];
      layer.allreduceStats = synced[i];
    }
  }
  return layers.length;
}

/** The trainer's use: a fixed stratified slice of the training set, recalibrated on before each validation. */
export class PreciseBatchNorm {
  private readonly slice: AnyImageDataset | undefined;

  /** `images` 0 (or undefined) disables it: validation then uses the moving averages, as Keras does. */
  constructor(train: AnyImageDataset, images: number | undefined, seed: number) {
    if (!images || images <= 0) return;
    this.slice = images >= train.labels.length ? train : stratifiedSubset(train, { size: images, seed });
  }

  apply(model: Module, o: { norm: InputNormalization; device?: Device; batchSize?: number }): void {
    if (this.slice) recalibrateBatchNorm(model, this.slice, o);
  }
}

// Embeddings of a whole dataset, batch by batch, in eval mode and without grad: the one embedding
// path shared by validation, anomaly scoring, look-alike search and export checks.
import type { Tensor } from '../tensor/tensor.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { cat } from '../tensor/combine.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import { imagesInRange, type AnyImageDataset } from '../data/cache/file-image-dataset.js';
import type { InputNormalization } from '../data/normalization.js';
import { imagesToTensor } from './images-to-tensor.js';
import { inEvalMode } from './eval-mode.js';
import { ranges } from './ranges.js';

/** The images [start, end) of a dataset as a model input tensor. */
export function datasetSlice(data: AnyImageDataset, start: number, end: number, norm: InputNormalization, device: Device): Tensor {
  return imagesToTensor({ images: imagesInRange(data, start, end), size: end - start, height: data.height, width: data.width, channels: data.channels }, norm, device);
}

/** Embeddings [N,D] of every image of a dataset, in eval mode and without grad. */
export function embedDataset(model: Module, data: AnyImageDataset, o: { norm: InputNormalization; device?: Device; batchSize?: number }): Tensor {
  return inEvalMode([model], () => noGrad(() => {
    const parts: Tensor[] = [];
    try {
      for (const [s, e] of ranges(data.labels.length, o.batchSize ?? 500)) {
        parts.push(keep(tidy(() => model.forward(datasetSlice(data, s, e, o.norm, o.device ?? 'cpu')).to('cpu'))));
      }
      return cat(parts);
    } finally {
      dispose(parts);
    }
  }));
}

// Validation: loss and accuracy of a model + head over a dataset, in eval mode without grad.
import { Tensor } from '../tensor/tensor.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { cat } from '../tensor/combine.js';
import { zeros } from '../tensor/creation.js';
import { normalize } from '../nn/functional.js';
import type { Module } from '../nn/module.js';
import type { Head } from '../losses/head.js';
import { imagesInRange, type AnyImageDataset } from '../data/file-image-dataset.js';
import type { Device } from '../tensor/device.js';
import { imagesToTensor, labelsToTensor, type InputNormalization } from './batch-tensors.js';

export interface Evaluation {
  loss: number;
  accuracy: number;
}

/** Yields [start, end) ranges over n items in chunks of size. */
export function* ranges(n: number, size: number): Generator<[number, number]> {
  for (let start = 0; start < n; start += size) yield [start, Math.min(n, start + size)];
}

/** The images [start, end) of a dataset as a model input tensor. */
export function datasetSlice(data: AnyImageDataset, start: number, end: number, norm: InputNormalization, device: Device): Tensor {
  return imagesToTensor({ images: imagesInRange(data, start, end), size: end - start, height: data.height, width: data.width, channels: data.channels }, norm, device);
}

/** Runs fn in eval mode and restores the previous training flags afterwards. */
export function inEvalMode<T>(modules: Module[], fn: () => T): T {
  const previous = modules.map((m) => m.training);
  modules.forEach((m) => m.eval());
  try {
    return fn();
  } finally {
    modules.forEach((m, i) => m.train(previous[i]));
  }
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

/**
 * Loss and accuracy on a dataset. Classifying heads use their logits; the others classify by the
 * nearest class centroid (cosine) of reference embeddings (e.g. a slice of the training set).
 */
export function evaluate(model: Module, head: Head, data: AnyImageDataset, o: { norm: InputNormalization; device?: Device; batchSize?: number; reference?: AnyImageDataset }): Evaluation {
  return inEvalMode([model, head], () => noGrad(() => tidy(() => {
    const emb = embedDataset(model, data, o);
    const labels = labelsToTensor(data.labels);
    const n = data.labels.length;
    let lossSum = 0;
    let correct = 0;
    let centroids: Tensor | null = null;
    if (!head.classifies) {
      const ref = o.reference ?? data;
      const refEmb = normalize(embedDataset(model, ref, o));
      const refLabels = labelsToTensor(ref.labels);
      const sums = zeros([head.numClasses, refEmb.shape[1]]).indexAdd(0, refLabels, refEmb);
      centroids = normalize(sums);
    }
    for (const [s, e] of ranges(n, o.batchSize ?? 500)) {
      const be = emb.slice(0, s, e);
      const bl = labels.slice(0, s, e);
      lossSum += head.loss(be, bl).item() * (e - s);
      const pred = head.classifies ? head.predict(be) : normalize(be).matmul(centroids!.T).argmax(1);
      correct += pred.eq(bl).sum().item();
    }
    return { loss: lossSum / n, accuracy: correct / n };
  })));
}

// Validation: loss and accuracy of a model + head over a dataset, in eval mode without grad.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { zeros } from '../tensor/creation.js';
import { normalize } from '../nn/functional.js';
import type { Module } from '../nn/module.js';
import type { Head } from '../losses/head.js';
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import type { Device } from '../tensor/device.js';
import { embedDataset, inEvalMode, ranges, type InputNormalization } from '../inference/index.js';
import { labelsToTensor } from './batch-tensors.js';

export interface Evaluation {
  loss: number;
  accuracy: number;
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

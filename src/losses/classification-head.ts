// ClassificationHead: a Head with class logits, whose loss is the mean of per-sample terms.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { Head } from './head.js';

export abstract class ClassificationHead extends Head {
  readonly classifies: boolean = true;

  /**
   * The loss term of each sample, [N]. In eval mode a sample's term depends only on that sample
   * (nothing is normalised over the batch), so it does not change with the rest of the batch.
   */
  abstract lossTerms(embeddings: Tensor, labels: Tensor): Tensor;

  abstract override logits(embeddings: Tensor): Tensor;

  loss(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => this.lossTerms(embeddings, labels).mean());
  }
}

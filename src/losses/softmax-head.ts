// SoftmaxHead: a fully connected layer with bias and cross-entropy — the plain "normal CNN"
// classifier that metric-learning heads are compared against.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { Linear } from '../nn/linear.js';
import { crossEntropy } from '../nn/functional.js';
import { ClassificationHead } from './classification-head.js';
import type { HeadConfig } from './head.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';

export type SoftmaxHeadConfig = HeadConfig;

export class SoftmaxHead extends ClassificationHead {
  readonly name: string = 'softmax';
  /** The class layer: state-dict names 'fc.weight' [C,D] and 'fc.bias' [C]. */
  readonly fc: Linear;

  constructor(cfg: SoftmaxHeadConfig) {
    super(cfg);
    this.fc = this.registerModule('fc', new Linear({ inFeatures: this.embeddingDim, outFeatures: this.numClasses }));
  }

  override logits(embeddings: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.logits`);
    return this.fc.forward(embeddings);
  }

  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.loss`);
    checkLabels(labels, 'labels', embeddings.shape[0], this.numClasses, `${this.name}.loss`);
    return tidy(() => crossEntropy(this.fc.forward(embeddings), labels, { reduction: 'none' }));
  }

  protected options(): Record<string, unknown> {
    return {};
  }
}

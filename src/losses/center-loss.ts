// CenterLoss — Wen, Zhang, Li & Qiao 2016, "A Discriminative Feature Learning Approach for Deep Face
// Recognition", ECCV 2016 (no arXiv version).
// One centre per class, the parameter 'centers' [C,D]; the loss is ½·mean_i ‖x_i − c_{y_i}‖². It
// has a trivial minimum on its own (everything at one point), so it is meant to be added to a
// softmax loss: see SoftmaxCenterHead. The centres start at zero and are learned by the optimizer
// with the rest of the model (as the common PyTorch ports do) rather than by the paper's separate
// moving-average rule; an adaptive optimizer such as Adam moves them at its own step size whatever
// the loss weight.
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { zeros } from '../tensor/creation.js';
import { checkInt } from '../tensor/checks.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';

export interface CenterLossConfig {
  embeddingDim: number;
  numClasses: number;
}

export class CenterLoss extends Module {
  readonly embeddingDim: number;
  readonly numClasses: number;
  /** Class centres [C,D]. */
  readonly centers: Tensor;

  constructor(cfg: CenterLossConfig) {
    super();
    this.embeddingDim = checkInt(cfg.embeddingDim, 'embeddingDim', 1);
    this.numClasses = checkInt(cfg.numClasses, 'numClasses', 1);
    this.centers = this.registerParameter('centers', zeros([this.numClasses, this.embeddingDim]));
  }

  /** ½·‖x_i − c_{y_i}‖² per sample, [N]. */
  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, 'CenterLoss');
    checkLabels(labels, 'labels', embeddings.shape[0], this.numClasses, 'CenterLoss');
    return tidy(() => embeddings.sub(this.centers.indexSelect(0, labels)).square().sum(1).mul(0.5));
  }

  /** ½·mean_i ‖x_i − c_{y_i}‖². */
  loss(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => this.lossTerms(embeddings, labels).mean());
  }

  forward(_x: Tensor): Tensor {
    throw new Error('CenterLoss needs labels: call loss(embeddings, labels)');
  }
}

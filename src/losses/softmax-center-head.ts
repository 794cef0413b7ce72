// SoftmaxCenterHead ('softmax+center') — softmax cross-entropy plus λ·center loss, as proposed by
// Wen, Zhang, Li & Qiao 2016, "A Discriminative Feature Learning Approach for Deep Face Recognition",
// ECCV 2016. λ defaults to 0.01: the paper's MNIST study finds λ between 0.001 and 0.1 works, and its
// face models use 0.003 with ½·Σ over the batch; 0.01 with our ½·mean keeps the centre term well
// below the cross-entropy at the start while still tightening the classes.
// State: 'fc.weight', 'fc.bias' (the softmax layer) and 'center.centers'.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { SoftmaxHead } from './softmax-head.js';
import { CenterLoss } from './center-loss.js';
import { type HeadConfig } from './head.js';
import { checkNonNegative } from '../tensor/checks.js';

export interface SoftmaxCenterHeadConfig extends HeadConfig {
  /** Weight λ of the center loss (default 0.01). */
  centerWeight?: number;
}

export class SoftmaxCenterHead extends SoftmaxHead {
  override readonly name: string = 'softmax+center';
  readonly centerWeight: number;
  readonly center: CenterLoss;

  constructor(cfg: SoftmaxCenterHeadConfig) {
    super(cfg);
    this.centerWeight = checkNonNegative(cfg.centerWeight ?? 0.01, 'centerWeight');
    this.center = this.registerModule('center', new CenterLoss({ embeddingDim: this.embeddingDim, numClasses: this.numClasses }));
  }

  /** Cross-entropy + λ·½‖x − c_y‖² per sample. */
  override lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => super.lossTerms(embeddings, labels).add(this.center.lossTerms(embeddings, labels).mul(this.centerWeight)));
  }

  protected override options(): Record<string, unknown> {
    return { centerWeight: this.centerWeight };
  }
}

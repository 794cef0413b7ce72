// SoftmaxCenterHead ('softmax+center') — softmax cross-entropy plus λ·center loss, as proposed by
// Wen, Zhang, Li & Qiao 2016, "A Discriminative Feature Learning Approach for Deep Face Recognition",
// ECCV 2016. λ defaults to 0.01: the paper's MNIST study finds λ between 0.001 and 0.1 works, and its
// face models use 0.003 with ½·Σ over the batch; 0.01 with our ½·mean keeps the centre term well
// below the cross-entropy at the start while still tightening the classes.
// A MultipleLosses preset: a SoftmaxHead plus a CenterLoss named 'center', weighted λ.
// State: 'fc.weight', 'fc.bias' (the softmax layer) and 'center.centers'.
import type { Linear } from '../nn/linear.js';
import { checkNonNegative } from '../tensor/checks.js';
import { SoftmaxHead } from './softmax-head.js';
import { CenterLoss } from './center-loss.js';
import type { HeadConfig } from './head.js';
import { MultipleLosses } from './multiple-losses.js';

export interface SoftmaxCenterHeadConfig extends HeadConfig {
  /** Weight λ of the center loss (default 0.01). */
  centerWeight?: number;
}

export class SoftmaxCenterHead extends MultipleLosses {
  override readonly name: string = 'softmax+center';
  readonly centerWeight: number;
  readonly center: CenterLoss;

  constructor(cfg: SoftmaxCenterHeadConfig) {
    const centerWeight = checkNonNegative(cfg?.centerWeight ?? 0.01, 'centerWeight');
    const head = new SoftmaxHead(cfg);
    const center = new CenterLoss({ embeddingDim: head.embeddingDim, numClasses: head.numClasses });
    super({ embeddingDim: head.embeddingDim, numClasses: head.numClasses, head, losses: { center }, weights: { center: centerWeight } });
    this.centerWeight = centerWeight;
    this.center = center;
  }

  /** The softmax layer: 'fc.weight' [C,D] and 'fc.bias' [C]. */
  get fc(): Linear {
    return (this.head as SoftmaxHead).fc;
  }

  protected override options(): Record<string, unknown> {
    return { centerWeight: this.centerWeight };
  }
}

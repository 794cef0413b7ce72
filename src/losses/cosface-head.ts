// CosFaceHead ('cosface') — Wang, Wang, Zhou, Ji, Gong, Zhou, Li & Liu 2018, "CosFace: Large Margin
// Cosine Loss for Deep Face Recognition", arXiv:1801.09414 (also AM-Softmax, arXiv:1801.05599).
// True-class logit s·(cos θ − m). Defaults: m = 0.35 as the paper and pytorch-metric-learning; s = 30
// rather than their 64, which suits face identities by the thousand: with 10 classes, s = 64 makes
// the softmax saturate early and trains worse than s ≈ 30.
import type { Tensor } from '../tensor/tensor.js';
import { MarginSoftmaxHead, type MarginSoftmaxHeadConfig } from './margin-softmax-head.js';
import { checkNonNegative } from '../tensor/checks.js';

export interface CosFaceHeadConfig extends MarginSoftmaxHeadConfig {
  /** Additive cosine margin m (default 0.35). */
  margin?: number;
}

export class CosFaceHead extends MarginSoftmaxHead {
  readonly name: string = 'cosface';
  readonly margin: number;

  constructor(cfg: CosFaceHeadConfig) {
    super(cfg, 30);
    this.margin = checkNonNegative(cfg.margin ?? 0.35, 'margin');
  }

  override targetLogit(cosTarget: Tensor): Tensor {
    return cosTarget.sub(this.margin);
  }

  protected override options(): Record<string, unknown> {
    return { ...super.options(), margin: this.margin };
  }
}

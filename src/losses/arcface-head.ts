// ArcFaceHead ('arcface') — Deng, Guo, Xue & Zafeiriou 2019, "ArcFace: Additive Angular Margin Loss
// for Deep Face Recognition", arXiv:1801.07698.
// True-class logit s·cos(θ + m), m in radians. Past θ = π − m, cos(θ + m) would rise again, so
// the target logit would reward moving away from the class; as insightface (easy_margin = False)
// it becomes cos θ − m·sin m there, which keeps it decreasing in θ over all of [0, π].
// Defaults: m = 0.5 as the paper and pytorch-metric-learning (which takes degrees: 28.6°); s = 30
// rather than 64, better suited to tens of classes.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { where } from '../tensor/combine.js';
import { MarginSoftmaxHead, type MarginSoftmaxHeadConfig } from './margin-softmax-head.js';
import { checkBetween } from '../tensor/checks.js';

export interface ArcFaceHeadConfig extends MarginSoftmaxHeadConfig {
  /** Additive angular margin m in radians (default 0.5). */
  margin?: number;
}

export class ArcFaceHead extends MarginSoftmaxHead {
  readonly name: string = 'arcface';
  readonly margin: number;

  constructor(cfg: ArcFaceHeadConfig, rowsPerClass = 1) {
    super(cfg, 30, rowsPerClass);
    this.margin = cfg.margin === 0 ? 0 : checkBetween(cfg.margin ?? 0.5, 'margin', 0, Math.PI / 2);
  }

  override targetLogit(cosTarget: Tensor): Tensor {
    const m = this.margin;
    return tidy(() => {
      // sin θ from cos θ; the clamp keeps the gradient finite where cos θ = ±1 exactly.
      const sin = cosTarget.square().rsub(1).clampMin(1e-12).sqrt();
      const cosThetaPlusM = cosTarget.mul(Math.cos(m)).sub(sin.mul(Math.sin(m)));
      return where(cosTarget.gt(Math.cos(Math.PI - m)), cosThetaPlusM, cosTarget.sub(m * Math.sin(m)));
    });
  }

  protected override options(): Record<string, unknown> {
    return { ...super.options(), margin: this.margin };
  }
}

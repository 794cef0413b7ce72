// AdaCosHead ('adacos') — Zhang, Zhao, Qiao, Wang & Li 2019, "AdaCos: Adaptively Scaling Cosine
// Logits for Effectively Learning Deep Face Representations", arXiv:1905.00292.
// Cosine logits without margin and with no scale to tune. Fixed AdaCos uses s = √2·ln(C − 1) (the
// paper's eq. 13). Dynamic AdaCos (the default) re-estimates s on each training batch, without
// gradient, before computing the logits:
//   B_avg = (1/N)·Σ_i Σ_{k≠y_i} exp(s·cos θ_{i,k}),   s ← ln(B_avg) / cos(min(π/4, θ_med))
// where θ_med is the median true-class angle of the batch. s is the buffer 'scale', saved with the
// model; it only changes in training mode, so evaluation does not depend on the batch.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { scalar } from '../tensor/creation.js';
import { noGrad } from '../tensor/grad-mode.js';
import { MarginSoftmaxHead } from './margin-softmax-head.js';
import type { HeadConfig } from './head.js';
import { checkBoolean } from '../tensor/checks.js';
import { classMask } from './class-mask.js';

export interface AdaCosHeadConfig extends HeadConfig {
  /** Update s from each training batch (default true); false keeps s = √2·ln(C − 1). */
  dynamic?: boolean;
}

/** The fixed AdaCos scale √2·ln(C − 1). */
export function adaCosFixedScale(numClasses: number): number {
  return Math.SQRT2 * Math.log(numClasses - 1);
}

export class AdaCosHead extends MarginSoftmaxHead {
  readonly name: string = 'adacos';
  readonly dynamic: boolean;
  /** The current scale s (0-d float32 buffer 'scale'). */
  readonly scaleBuffer: Tensor;

  constructor(cfg: AdaCosHeadConfig) {
    if (cfg?.numClasses === 2) {
      throw new RangeError('Expected numClasses ≥ 3 for adacos but received 2: its scale √2·ln(C − 1) is 0 for two classes');
    }
    super(cfg, adaCosFixedScale(Math.max(3, Number(cfg?.numClasses) || 3)));
    this.dynamic = checkBoolean(cfg.dynamic ?? true, 'dynamic');
    this.scaleBuffer = this.registerBuffer('scale', scalar(this.scale));
  }

  /** The current s (one host sync). */
  get currentScale(): number {
    return this.scaleBuffer.item();
  }

  protected override logitScale(_embeddings: Tensor, cos: Tensor, labels?: Tensor): Tensor {
    if (this.dynamic && this.training && labels !== undefined) {
      noGrad(() => tidy(() => {
        const mask = classMask(labels, this.numClasses);
        const bAvg = cos.mul(this.scaleBuffer).exp().maskedFill(mask, 0).sum().div(cos.shape[0]);
        const thetaMedian = cos.gather(1, labels.unsqueeze(1)).clamp(-1 + 1e-7, 1 - 1e-7).acos().median();
        this.scaleBuffer.copy_(bAvg.log().div(thetaMedian.clampMax(Math.PI / 4).cos()));
      }));
    }
    return this.scaleBuffer;
  }

  protected override options(): Record<string, unknown> {
    return { dynamic: this.dynamic };
  }
}

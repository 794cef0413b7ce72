// SphereFaceHead ('sphereface') — Liu, Wen, Yu, Li, Raj & Song 2017, "SphereFace: Deep Hypersphere
// Embedding for Face Recognition", arXiv:1704.08063 (A-Softmax).
// Class weights are normalised but embeddings are not: logit_j = ‖x‖·cos θ_j. The true class gets the
// multiplicative angular margin ψ(θ) = (−1)^k·cos(mθ) − 2k for θ ∈ [kπ/m, (k+1)π/m], which is
// monotonic decreasing on [0, π]. As the authors' training code, the margin is annealed in:
//   logit_y = ‖x‖·(λ·cos θ_y + ψ(θ_y)) / (1 + λ),  λ = max(λ_min, base·(1 + γ·iteration)^(−power))
// with base = 1000, γ = 0.12, power = 1, λ_min = 5. The iteration counter is the buffer 'iteration',
// saved with the model, and advances by one per loss computed in training mode.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { scalar } from '../tensor/creation.js';
import { noGrad } from '../tensor/grad-mode.js';
import { checkInt, checkNonNegative, checkPositive } from '../tensor/checks.js';
import { MarginSoftmaxHead } from './margin-softmax-head.js';
import type { HeadConfig } from './head.js';

export interface SphereFaceHeadConfig extends HeadConfig {
  /** Integer angular margin m (default 4). */
  margin?: number;
  /** Floor of the annealing weight λ (default 5; 0 reaches the full margin). */
  lambdaMin?: number;
  lambdaBase?: number;
  lambdaGamma?: number;
  lambdaPower?: number;
}

export class SphereFaceHead extends MarginSoftmaxHead {
  readonly name: string = 'sphereface';
  readonly margin: number;
  readonly lambdaMin: number;
  readonly lambdaBase: number;
  readonly lambdaGamma: number;
  readonly lambdaPower: number;
  /** Loss computations done in training mode (int64, 0-d buffer 'iteration'). */
  readonly iteration: Tensor;

  constructor(cfg: SphereFaceHeadConfig) {
    super(cfg, 1);
    this.margin = checkInt(cfg.margin ?? 4, 'margin', 1);
    this.lambdaMin = checkNonNegative(cfg.lambdaMin ?? 5, 'lambdaMin');
    this.lambdaBase = checkNonNegative(cfg.lambdaBase ?? 1000, 'lambdaBase');
    this.lambdaGamma = checkNonNegative(cfg.lambdaGamma ?? 0.12, 'lambdaGamma');
    this.lambdaPower = checkPositive(cfg.lambdaPower ?? 1, 'lambdaPower');
    this.iteration = this.registerBuffer('iteration', scalar(0, { dtype: 'int64' }));
  }

  /** λ at the current iteration, as a 0-d tensor of the given dtype (computed on the device, no sync). */
  lambda(dtype: 'float32' | 'float64' = 'float32'): Tensor {
    return tidy(() => this.iteration.to(dtype).mul(this.lambdaGamma).add(1).pow(-this.lambdaPower)
      .mul(this.lambdaBase).clampMin(this.lambdaMin));
  }

  /** ψ(θ) = (−1)^k·cos(mθ) − 2k, k = ⌊mθ/π⌋, from cos θ. */
  psi(cosTheta: Tensor): Tensor {
    const m = this.margin;
    return tidy(() => {
      // acos has an infinite slope at ±1: keep θ strictly inside (0, π).
      const theta = cosTheta.clamp(-1 + 1e-7, 1 - 1e-7).acos();
      const k = theta.mul(m / Math.PI).floor();
      const sign = k.remainder(2).mul(-2).add(1);
      return theta.mul(m).cos().mul(sign).sub(k.mul(2));
    });
  }

  override targetLogit(cosTarget: Tensor): Tensor {
    return tidy(() => {
      const lambda = this.lambda(cosTarget.dtype === 'float64' ? 'float64' : 'float32');
      return cosTarget.mul(lambda).add(this.psi(cosTarget)).div(lambda.add(1));
    });
  }

  /** ‖x‖ per sample, [N,1]: A-Softmax keeps the feature norm as the scale. */
  protected override logitScale(embeddings: Tensor): Tensor {
    return embeddings.norm(2, 1, true);
  }

  override lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    const terms = super.lossTerms(embeddings, labels);
    if (this.training) noGrad(() => this.iteration.add_(1));
    return terms;
  }

  protected override options(): Record<string, unknown> {
    return { margin: this.margin, lambdaMin: this.lambdaMin, lambdaBase: this.lambdaBase, lambdaGamma: this.lambdaGamma, lambdaPower: this.lambdaPower };
  }
}

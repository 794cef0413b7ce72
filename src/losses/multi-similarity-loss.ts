// MultiSimilarityLoss ('multisimilarity') — Wang, Han, Huang, Dong & Scott 2019, "Multi-Similarity
// Loss with General Pair Weighting for Deep Metric Learning", arXiv:1904.06627.
// On cosine similarities S of the mined pairs (see multi-similarity-miner.ts), per anchor i:
//   (1/α)·log(1 + Σ_{P_i} exp(−α(S_ij − λ))) + (1/β)·log(1 + Σ_{N_i} exp(β(S_ik − λ)))
// averaged over all anchors. Defaults α = 2, β = 50, ε = 0.1 as the paper; λ ("base") = 0.5 as the
// authors' code and pytorch-metric-learning (the paper's text gives λ = 1).
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { cat } from '../tensor/combine.js';
import { zeros } from '../tensor/creation.js';
import { type Device } from '../tensor/device.js';
import { type HeadConfig } from './head.js';
import { PairLoss, pairwiseCosineSimilarity } from './pair-loss.js';
import { checkBoolean, checkFinite, checkNonNegative, checkPositive } from '../tensor/checks.js';
import { pairMasks } from './class-mask.js';
import { multiSimilarityMine } from './multi-similarity-miner.js';

export interface MultiSimilarityLossConfig extends HeadConfig {
  alpha?: number;
  beta?: number;
  /** λ, the similarity the pairs are weighted around (default 0.5). */
  base?: number;
  /** Mining margin ε (default 0.1). */
  epsilon?: number;
  /** Mine pairs first (default true); false uses every pair. */
  mine?: boolean;
}

/** log(1 + Σ exp(x)) over the entries of each row selected by mask, [N]. */
function logOnePlusSumExp(x: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    const masked = x.maskedFill(mask.logicalNot(), -Infinity);
    const zero = zeros([x.shape[0], 1], { dtype: x.dtype, device: x.device as Device });
    return cat([masked, zero], 1).logsumexp(1);
  });
}

export class MultiSimilarityLoss extends PairLoss {
  readonly name: string = 'multisimilarity';
  readonly alpha: number;
  readonly beta: number;
  readonly base: number;
  readonly epsilon: number;
  readonly mineFirst: boolean;

  constructor(cfg: MultiSimilarityLossConfig) {
    super(cfg);
    this.alpha = checkPositive(cfg.alpha ?? 2, 'alpha');
    this.beta = checkPositive(cfg.beta ?? 50, 'beta');
    this.base = checkFinite(cfg.base ?? 0.5, 'base');
    this.epsilon = checkNonNegative(cfg.epsilon ?? 0.1, 'epsilon');
    this.mineFirst = checkBoolean(cfg.mine ?? true, 'mine');
  }

  /** Per-anchor terms [N]. */
  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    this.checkBatch(embeddings, labels);
    return tidy(() => {
      const s = pairwiseCosineSimilarity(embeddings);
      const { positive, negative } = this.mineFirst ? multiSimilarityMine(s, labels, this.epsilon) : pairMasks(labels);
      const shifted = s.sub(this.base);
      const pos = logOnePlusSumExp(shifted.mul(-this.alpha), positive).div(this.alpha);
      const neg = logOnePlusSumExp(shifted.mul(this.beta), negative).div(this.beta);
      return pos.add(neg);
    });
  }

  loss(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => this.lossTerms(embeddings, labels).mean());
  }

  protected options(): Record<string, unknown> {
    return { alpha: this.alpha, beta: this.beta, base: this.base, epsilon: this.epsilon, mine: this.mineFirst };
  }
}

// MultiSimilarityLoss ('multisimilarity') — Wang, Han, Huang, Dong & Scott 2019, "Multi-Similarity
// Loss with General Pair Weighting for Deep Metric Learning", arXiv:1904.06627.
// On the similarities S of the mined pairs (see miners/multi-similarity-miner.ts), per anchor i:
//   (1/α)·log(1 + Σ_{P_i} exp(−α(S_ij − λ))) + (1/β)·log(1 + Σ_{N_i} exp(β(S_ik − λ)))
// reduced over all anchors (default: the mean). With a distance instead of a similarity, the
// distance's margin() flips the signs, as pytorch-metric-learning does. Defaults α = 2, β = 50,
// ε = 0.1 as the paper; λ ("base") = 0.5 as the authors' code and pytorch-metric-learning (the
// paper's text gives λ = 1); cosine similarity.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { cat } from '../tensor/combine.js';
import { zeros } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { checkBoolean, checkFinite, checkNonNegative, checkPositive } from '../tensor/checks.js';
import { PairLoss, type PairLossConfig } from './pair-loss.js';
import type { Miner } from './miners/miner.js';
import { type Mined, allPairs, minedPairMasks } from './miners/mined.js';
import { MultiSimilarityMiner } from './miners/multi-similarity-miner.js';

export interface MultiSimilarityLossConfig extends PairLossConfig {
  alpha?: number;
  beta?: number;
  /** λ, the similarity the pairs are weighted around (default 0.5). */
  base?: number;
  /** Mining margin ε of the built-in miner (default 0.1). */
  epsilon?: number;
  /** Mine pairs first with the built-in miner (default true); false uses every pair. */
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
  readonly miner: Miner | null;

  constructor(cfg: MultiSimilarityLossConfig) {
    super(cfg, { distance: 'cosine', reducer: 'mean' });
    this.alpha = checkPositive(cfg.alpha ?? 2, 'alpha');
    this.beta = checkPositive(cfg.beta ?? 50, 'beta');
    this.base = checkFinite(cfg.base ?? 0.5, 'base');
    this.epsilon = checkNonNegative(cfg.epsilon ?? 0.1, 'epsilon');
    this.mineFirst = checkBoolean(cfg.mine ?? true, 'mine');
    this.miner = this.customMiner !== undefined ? this.customMiner
      : this.mineFirst ? new MultiSimilarityMiner({ epsilon: this.epsilon, distance: this.distance }) : null;
  }

  /** Per-anchor terms [N]. */
  lossTerms(embeddings: Tensor, labels: Tensor, mined?: Mined): Tensor {
    this.checkBatch(embeddings, labels);
    return tidy(() => {
      const matrix = this.distance.matrix(embeddings);
      return this.anchorTerms(matrix, mined ?? this.mineWith(matrix, embeddings, labels));
    });
  }

  protected allTuples(labels: Tensor): Mined {
    return allPairs(labels);
  }

  protected computeLoss(matrix: Tensor, mined: Mined, embeddings: Tensor): Tensor {
    return tidy(() => this.reducer.reduce(this.anchorTerms(matrix, mined), embeddings));
  }

  private anchorTerms(matrix: Tensor, mined: Mined): Tensor {
    return tidy(() => {
      const { positive, negative } = minedPairMasks(mined, matrix.shape[0]);
      const pos = logOnePlusSumExp(this.distance.margin(matrix, this.base).mul(this.alpha), positive).div(this.alpha);
      const neg = logOnePlusSumExp(this.distance.margin(this.base, matrix).mul(this.beta), negative).div(this.beta);
      return pos.add(neg);
    });
  }

  protected options(): Record<string, unknown> {
    return { alpha: this.alpha, beta: this.beta, base: this.base, epsilon: this.epsilon, mine: this.mineFirst, ...this.seamOptions() };
  }
}

// The pair mining step of Multi-Similarity — Wang, Han, Huang, Dong & Scott 2019, "Multi-Similarity
// Loss with General Pair Weighting for Deep Metric Learning", arXiv:1904.06627 (its eqs. 7 and 8).
// On cosine similarities S, for each anchor i:
//   keep negative pair (i,k) when S_ik > min_{y_j = y_i} S_ij − ε
//   keep positive pair (i,j) when S_ij < max_{y_k ≠ y_i} S_ik + ε
// An anchor without positives keeps no negatives and vice versa. With a distance rather than a
// similarity the same rules apply to −d (as pytorch-metric-learning's MultiSimilarityMiner):
//   keep (i,k) when d_ik < max_{y_j = y_i} d_ij + ε, keep (i,j) when d_ij > min_{y_k ≠ y_i} d_ik − ε.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkNonNegative } from '../../tensor/checks.js';
import type { Distance } from '../../distances/distance.js';
import { CosineSimilarity } from '../../distances/cosine-similarity.js';
import { pairMasks } from '../class-mask.js';
import { Miner, type MinerSpec } from './miner.js';
import { type MinedPairs, pairsFromMasks } from './mined.js';

/** Bool masks [N,N] of the kept positive and negative pairs; runs without gradient. */
export function multiSimilarityMine(similarities: Tensor, labels: Tensor, epsilon: number): { positive: Tensor; negative: Tensor } {
  return noGrad(() => tidy(() => {
    const s = similarities.detach();
    const { positive, negative } = pairMasks(labels);
    const hardestPositive = s.maskedFill(positive.logicalNot(), Infinity).min(1, true);
    const hardestNegative = s.maskedFill(negative.logicalNot(), -Infinity).max(1, true);
    return {
      positive: positive.logicalAnd(s.lt(hardestNegative.add(epsilon))),
      negative: negative.logicalAnd(s.gt(hardestPositive.sub(epsilon))),
    };
  }));
}

export interface MultiSimilarityMinerOptions {
  /** Mining margin ε (default 0.1). */
  epsilon?: number;
  /** Default: cosine similarity. */
  distance?: Distance;
}

export class MultiSimilarityMiner extends Miner {
  readonly name = 'multisimilarity' as const;
  readonly epsilon: number;

  constructor(opts: MultiSimilarityMinerOptions = {}) {
    super(opts.distance ?? new CosineSimilarity());
    this.epsilon = checkNonNegative(opts.epsilon ?? 0.1, 'epsilon of the multi-similarity miner');
  }

  override mine(embeddings: Tensor, labels: Tensor): MinedPairs {
    return super.mine(embeddings, labels) as MinedPairs;
  }

  override mineMatrix(matrix: Tensor, labels: Tensor): MinedPairs {
    return super.mineMatrix(matrix, labels) as MinedPairs;
  }

  protected mineFrom(matrix: Tensor, labels: Tensor): MinedPairs {
    return tidy(() => {
      const similarities = this.distance.isInverted ? matrix : matrix.neg();
      const { positive, negative } = multiSimilarityMine(similarities, labels, this.epsilon);
      return pairsFromMasks(positive, negative);
    });
  }

  config(): MinerSpec {
    return { name: this.name, epsilon: this.epsilon, distance: this.distance.config() };
  }
}

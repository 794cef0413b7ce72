// ContrastiveLoss ('contrastive') — Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by
// Learning an Invariant Mapping", CVPR 2006 (no arXiv version).
// Every positive pair (same label) is pulled within posMargin and every negative pair pushed past
// negMargin. As pytorch-metric-learning's ContrastiveLoss (not squared, unlike the paper's ½·d²),
// written with the distance's margin() so it holds for distances and similarities alike:
//   pos: [margin(d, posMargin)]₊, neg: [margin(negMargin, d)]₊, i.e.
//   euclidean (default, on L2-normalised embeddings): [d − posMargin]₊, [negMargin − d]₊ with
//     posMargin 0, negMargin 1;
//   cosine similarity: [posMargin − s]₊, [s − negMargin]₊ with posMargin 1, negMargin 0.
// Positive and negative terms are reduced separately (default: each averaged over the pairs with
// a non-zero term), then added. Default miner: none (every pair).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkFinite } from '../tensor/checks.js';
import type { DistanceName } from '../distances/distance.js';
import { PairLoss, type PairLossConfig, pairValues } from './pair-loss.js';
import type { Miner } from './miners/miner.js';
import { type Mined, allPairs, toPairs } from './miners/mined.js';

/** The distances a contrastive loss can take by name. */
export type PairDistance = DistanceName;

export interface ContrastiveLossConfig extends PairLossConfig {
  posMargin?: number;
  negMargin?: number;
}

export class ContrastiveLoss extends PairLoss {
  readonly name: string = 'contrastive';
  readonly posMargin: number;
  readonly negMargin: number;
  readonly miner: Miner | null;

  constructor(cfg: ContrastiveLossConfig) {
    super(cfg, { distance: 'euclidean', reducer: 'meanNonZero' });
    const similarity = this.distance.isInverted;
    this.posMargin = checkFinite(cfg.posMargin ?? (similarity ? 1 : 0), 'posMargin');
    this.negMargin = checkFinite(cfg.negMargin ?? (similarity ? 0 : 1), 'negMargin');
    this.miner = this.customMiner ?? null;
  }

  protected allTuples(labels: Tensor): Mined {
    return allPairs(labels);
  }

  protected computeLoss(matrix: Tensor, mined: Mined, embeddings: Tensor): Tensor {
    return tidy(() => {
      const pairs = toPairs(mined, matrix.shape[0]);
      const pos = this.distance.margin(pairValues(matrix, pairs.positiveAnchors, pairs.positives), this.posMargin).relu();
      const neg = this.distance.margin(this.negMargin, pairValues(matrix, pairs.negativeAnchors, pairs.negatives)).relu();
      return this.reducer.reduce(pos, embeddings).add(this.reducer.reduce(neg, embeddings));
    });
  }

  protected options(): Record<string, unknown> {
    return { ...this.seamOptions(), posMargin: this.posMargin, negMargin: this.negMargin };
  }
}

// ContrastiveLoss ('contrastive') — Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by
// Learning an Invariant Mapping", CVPR 2006 (no arXiv version).
// Every positive pair (same label) is pulled within posMargin and every negative pair pushed past
// negMargin. As pytorch-metric-learning's ContrastiveLoss (not squared, unlike the paper's ½·d²):
//   euclidean (default, on L2-normalised embeddings): pos: [d − posMargin]₊, neg: [negMargin − d]₊
//     with posMargin 0, negMargin 1;
//   cosine similarity: pos: [posMargin − sim]₊, neg: [sim − negMargin]₊ with posMargin 1, negMargin 0.
// Positive and negative terms are each averaged over the pairs with a non-zero term, then added.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { type HeadConfig } from './head.js';
import { PairLoss, meanOverPositive, pairwiseCosineSimilarity, pairwiseEuclidean } from './pair-loss.js';
import { checkBoolean, checkChoice, checkFinite } from '../tensor/checks.js';
import { pairMasks } from './class-mask.js';

export type PairDistance = 'euclidean' | 'cosine';

export interface ContrastiveLossConfig extends HeadConfig {
  distance?: PairDistance;
  posMargin?: number;
  negMargin?: number;
  /** L2-normalise embeddings before euclidean distances (default true; cosine always does). */
  normalizeEmbeddings?: boolean;
}

export class ContrastiveLoss extends PairLoss {
  readonly name: string = 'contrastive';
  readonly distance: PairDistance;
  readonly posMargin: number;
  readonly negMargin: number;
  readonly normalizeEmbeddings: boolean;

  constructor(cfg: ContrastiveLossConfig) {
    super(cfg);
    this.distance = checkChoice(cfg.distance ?? 'euclidean', 'distance', ['euclidean', 'cosine'] as const);
    const cosine = this.distance === 'cosine';
    this.posMargin = checkFinite(cfg.posMargin ?? (cosine ? 1 : 0), 'posMargin');
    this.negMargin = checkFinite(cfg.negMargin ?? (cosine ? 0 : 1), 'negMargin');
    this.normalizeEmbeddings = checkBoolean(cfg.normalizeEmbeddings ?? true, 'normalizeEmbeddings');
  }

  loss(embeddings: Tensor, labels: Tensor): Tensor {
    this.checkBatch(embeddings, labels);
    return tidy(() => {
      const { positive, negative } = pairMasks(labels);
      let posTerms: Tensor;
      let negTerms: Tensor;
      if (this.distance === 'cosine') {
        const sim = pairwiseCosineSimilarity(embeddings);
        posTerms = sim.rsub(this.posMargin).relu();
        negTerms = sim.sub(this.negMargin).relu();
      } else {
        const d = pairwiseEuclidean(embeddings, this.normalizeEmbeddings);
        posTerms = d.sub(this.posMargin).relu();
        negTerms = d.rsub(this.negMargin).relu();
      }
      return meanOverPositive(posTerms, positive).add(meanOverPositive(negTerms, negative));
    });
  }

  protected options(): Record<string, unknown> {
    return { distance: this.distance, posMargin: this.posMargin, negMargin: this.negMargin, normalizeEmbeddings: this.normalizeEmbeddings };
  }
}

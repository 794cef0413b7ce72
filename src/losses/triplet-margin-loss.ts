// TripletMarginLoss ('triplet') — Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified
// Embedding for Face Recognition and Clustering", arXiv:1503.03832; batch-all and batch-hard mining
// from Hermans, Beyer & Leibe 2017, arXiv:1703.07737.
// For mined triplets (a, p, n): [d(a,p) − d(a,n) + margin]₊ on euclidean distances between
// L2-normalised embeddings (margin 0.1: distances lie in [0, 2]). Batch-all averages over the
// triplets with a non-zero term (Hermans et al.'s "BA≠0", pytorch-metric-learning's default
// reducer), since most of its triplets are already satisfied; batch-hard and semi-hard average over
// all mined triplets.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { type HeadConfig } from './head.js';
import { PairLoss, pairwiseEuclidean } from './pair-loss.js';
import { checkBoolean, checkChoice, checkNonNegative } from '../tensor/checks.js';
import { TRIPLET_MINING, type TripletMining, type Triplets, mineTriplets } from './triplet-miner.js';

export interface TripletMarginLossConfig extends HeadConfig {
  margin?: number;
  /** 'all' (default), 'hard' or 'semihard'. */
  mining?: TripletMining;
  /** L2-normalise embeddings first (default true). */
  normalizeEmbeddings?: boolean;
}

export class TripletMarginLoss extends PairLoss {
  readonly name: string = 'triplet';
  readonly margin: number;
  readonly mining: TripletMining;
  readonly normalizeEmbeddings: boolean;

  constructor(cfg: TripletMarginLossConfig) {
    super(cfg);
    this.margin = checkNonNegative(cfg.margin ?? 0.1, 'margin');
    this.mining = checkChoice(cfg.mining ?? 'all', 'mining', TRIPLET_MINING);
    this.normalizeEmbeddings = checkBoolean(cfg.normalizeEmbeddings ?? true, 'normalizeEmbeddings');
  }

  /** The triplets this loss would use for a batch (int64 index tensors). */
  mine(embeddings: Tensor, labels: Tensor): Triplets {
    this.checkBatch(embeddings, labels);
    return tidy(() => mineTriplets(pairwiseEuclidean(embeddings, this.normalizeEmbeddings), labels, this.mining));
  }

  loss(embeddings: Tensor, labels: Tensor): Tensor {
    this.checkBatch(embeddings, labels);
    return tidy(() => {
      const d = pairwiseEuclidean(embeddings, this.normalizeEmbeddings);
      const { anchors, positives, negatives } = mineTriplets(d, labels, this.mining);
      const n = embeddings.shape[0];
      const flat = d.reshape(-1);
      const dAP = flat.gather(0, anchors.mul(n).add(positives));
      const dAN = flat.gather(0, anchors.mul(n).add(negatives));
      const terms = dAP.sub(dAN).add(this.margin).relu();
      if (anchors.shape[0] === 0) return embeddings.sum().mul(0);
      if (this.mining === 'all') return terms.sum().div(terms.gt(0).sum().clampMin(1));
      return terms.mean();
    });
  }

  protected options(): Record<string, unknown> {
    return { margin: this.margin, mining: this.mining, normalizeEmbeddings: this.normalizeEmbeddings };
  }
}

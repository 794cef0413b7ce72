// TripletMarginLoss ('triplet') — Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified
// Embedding for Face Recognition and Clustering", arXiv:1503.03832; batch-all and batch-hard mining
// from Hermans, Beyer & Leibe 2017, arXiv:1703.07737.
// For mined triplets (a, p, n): [margin(d(a,p), d(a,n)) + margin]₊ — d(a,p) − d(a,n) + margin for
// a distance, s(a,n) − s(a,p) + margin for a similarity. Default distance: euclidean between
// L2-normalised embeddings (margin 0.1: distances lie in [0, 2]).
// Default reducer: with every triplet (mining 'all', or no miner) the mean over the triplets with a
// non-zero term (Hermans et al.'s "BA≠0", pytorch-metric-learning's default), since most of them
// are already satisfied; with a miner that picks hard triplets, the mean over all mined triplets.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkChoice, checkNonNegative } from '../tensor/checks.js';
import { PairLoss, type PairLossConfig, pairValues } from './pair-loss.js';
import { Miner } from './miners/miner.js';
import { type Mined, type MinedTriplets, allTriplets, toTriplets } from './miners/mined.js';
import { TRIPLET_MINING, TripletMiner, type TripletMining } from './miners/triplet-miner.js';

export interface TripletMarginLossConfig extends PairLossConfig {
  margin?: number;
  /** The built-in miner: 'all' (default), 'hard' or 'semihard'; replaced by the miner option. */
  mining?: TripletMining;
}

/** The built-in miner's type when the config names none ('all' otherwise). */
function miningOf(cfg: TripletMarginLossConfig): TripletMining {
  return checkChoice(cfg?.mining ?? 'all', 'mining', TRIPLET_MINING);
}

/** Whether the loss sees every triplet: no miner, or a triplet miner of type 'all'. */
function usesEveryTriplet(cfg: TripletMarginLossConfig, mining: TripletMining): boolean {
  const miner = cfg?.miner;
  if (miner === undefined) return mining === 'all';
  if (miner === null) return true;
  if (miner instanceof TripletMiner) return miner.type === 'all';
  return !(miner instanceof Miner) && miner.name === 'triplet' && (miner.type ?? 'all') === 'all';
}

export class TripletMarginLoss extends PairLoss {
  readonly name: string = 'triplet';
  readonly margin: number;
  readonly mining: TripletMining;
  readonly miner: Miner | null;

  constructor(cfg: TripletMarginLossConfig) {
    const mining = miningOf(cfg);
    super(cfg, { distance: 'euclidean', reducer: usesEveryTriplet(cfg, mining) ? 'meanNonZero' : 'mean' });
    this.margin = checkNonNegative(cfg.margin ?? 0.1, 'margin');
    this.mining = mining;
    this.miner = this.customMiner !== undefined ? this.customMiner : new TripletMiner({ type: mining, distance: this.distance });
  }

  override mine(embeddings: Tensor, labels: Tensor): MinedTriplets {
    return tidy(() => toTriplets(super.mine(embeddings, labels), embeddings.shape[0]));
  }

  protected allTuples(labels: Tensor): Mined {
    return allTriplets(labels);
  }

  protected computeLoss(matrix: Tensor, mined: Mined, embeddings: Tensor): Tensor {
    return tidy(() => {
      const { anchors, positives, negatives } = toTriplets(mined, matrix.shape[0]);
      const dAP = pairValues(matrix, anchors, positives);
      const dAN = pairValues(matrix, anchors, negatives);
      return this.reducer.reduce(this.distance.margin(dAP, dAN).add(this.margin).relu(), embeddings);
    });
  }

  protected options(): Record<string, unknown> {
    return { margin: this.margin, mining: this.mining, ...this.seamOptions() };
  }
}

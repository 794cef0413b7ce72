// TripletMiner: triplet mining on a batch's distance matrix, with masks only (no JS loops over
// samples). With a similarity (isInverted), "farthest" means least similar.
//   'all'      every valid (anchor, positive, negative) — batch-all (Hermans, Beyer & Leibe 2017,
//              "In Defense of the Triplet Loss for Person Re-Identification", arXiv:1703.07737).
//   'hard'     per anchor, its farthest positive and nearest negative — batch-hard (same paper).
//   'semihard' per (anchor, positive) pair, the nearest negative farther than the positive, or the
//              farthest negative when there is none — Schroff, Kalenichenko & Philbin 2015, "FaceNet:
//              A Unified Embedding for Face Recognition and Clustering", arXiv:1503.03832, with the
//              fallback of TensorFlow Addons' triplet_semihard_loss.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { arange } from '../../tensor/creation.js';
import { where } from '../../tensor/combine.js';
import type { Device } from '../../tensor/device.js';
import { checkChoice } from '../../tensor/checks.js';
import type { Distance } from '../../distances/distance.js';
import { EuclideanDistance } from '../../distances/euclidean-distance.js';
import { pairMasks } from '../class-mask.js';
import { Miner, type MinerSpec } from './miner.js';
import type { MinedTriplets } from './mined.js';

export type TripletMining = 'all' | 'hard' | 'semihard';
export const TRIPLET_MINING: readonly TripletMining[] = ['all', 'hard', 'semihard'];

/** Indices of mined triplets: three int64 tensors of the same length T. */
export interface Triplets {
  anchors: Tensor;
  positives: Tensor;
  negatives: Tensor;
}

/** Mines triplets from distances [N,N] (larger = farther) and labels [N]; runs without gradient. */
export function mineTriplets(distances: Tensor, labels: Tensor, mining: TripletMining): Triplets {
  return noGrad(() => tidy(() => {
    const d = distances.detach();
    const { positive, negative } = pairMasks(labels);
    if (mining === 'all') {
      const idx = positive.unsqueeze(2).logicalAnd(negative.unsqueeze(1)).nonzero();
      return { anchors: idx.select(1, 0), positives: idx.select(1, 1), negatives: idx.select(1, 2) };
    }
    if (mining === 'hard') {
      const valid = positive.any(1).logicalAnd(negative.any(1));
      const hardestPositive = d.maskedFill(positive.logicalNot(), -Infinity).argmax(1);
      const hardestNegative = d.maskedFill(negative.logicalNot(), Infinity).argmin(1);
      const anchors = arange(0, d.shape[0], 1, { device: d.device as Device });
      return { anchors: anchors.maskedSelect(valid), positives: hardestPositive.maskedSelect(valid), negatives: hardestNegative.maskedSelect(valid) };
    }
    const pairs = positive.nonzero();
    const a = pairs.select(1, 0);
    const p = pairs.select(1, 1);
    const dAnchor = d.indexSelect(0, a);
    const negAnchor = negative.indexSelect(0, a);
    const dPositive = dAnchor.gather(1, p.unsqueeze(1));
    const farther = negAnchor.logicalAnd(dAnchor.gt(dPositive));
    const semiHard = dAnchor.maskedFill(farther.logicalNot(), Infinity).argmin(1);
    const easiest = dAnchor.maskedFill(negAnchor.logicalNot(), -Infinity).argmax(1);
    const n = where(farther.any(1), semiHard, easiest);
    const valid = negAnchor.any(1);
    return { anchors: a.maskedSelect(valid), positives: p.maskedSelect(valid), negatives: n.maskedSelect(valid) };
  }));
}

export interface TripletMinerOptions {
  /** 'all' (default), 'hard' or 'semihard'. */
  type?: TripletMining;
  /** Default: euclidean on L2-normalised embeddings. */
  distance?: Distance;
}

export class TripletMiner extends Miner {
  readonly name = 'triplet' as const;
  readonly type: TripletMining;

  constructor(opts: TripletMinerOptions = {}) {
    super(opts.distance ?? new EuclideanDistance());
    this.type = checkChoice(opts.type ?? 'all', 'type of the triplet miner', TRIPLET_MINING);
  }

  override mine(embeddings: Tensor, labels: Tensor): MinedTriplets {
    return super.mine(embeddings, labels) as MinedTriplets;
  }

  override mineMatrix(matrix: Tensor, labels: Tensor): MinedTriplets {
    return super.mineMatrix(matrix, labels) as MinedTriplets;
  }

  protected mineFrom(matrix: Tensor, labels: Tensor): MinedTriplets {
    return tidy(() => ({ kind: 'triplets' as const, ...mineTriplets(this.distance.farness(matrix), labels, this.type) }));
  }

  config(): MinerSpec {
    return { name: this.name, type: this.type, distance: this.distance.config() };
  }
}

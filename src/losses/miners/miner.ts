// Miner: picks the informative pairs or triplets of a batch (pytorch-metric-learning's
// miners/base_miner.py). Every miner returns Mined (see mined.ts), which every pair loss accepts.
// Mining runs without gradient on the miner's own distance.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkEmbeddings, checkLabels } from '../../tensor/tensor-checks.js';
import type { Distance, DistanceSpec } from '../../distances/distance.js';
import type { Mined } from './mined.js';

export type MinerName = 'triplet' | 'multisimilarity';

/** The JSON form of a miner: createMiner(spec) rebuilds it. */
export interface MinerSpec {
  name: MinerName;
  /** Options of the miner (e.g. type for 'triplet', epsilon for 'multisimilarity'). */
  [option: string]: unknown;
  distance?: DistanceSpec;
}

export abstract class Miner {
  abstract readonly name: MinerName;
  readonly distance: Distance;

  constructor(distance: Distance) {
    this.distance = distance;
  }

  /** The mined tuples of embeddings [N,D] with int64 labels [N]. */
  mine(embeddings: Tensor, labels: Tensor): Mined {
    const op = `${this.name} miner`;
    checkEmbeddings(embeddings, 'embeddings', undefined, op);
    checkLabels(labels, 'labels', embeddings.shape[0], undefined, op);
    return noGrad(() => tidy(() => this.mineMatrix(this.distance.matrix(embeddings.detach()), labels)));
  }

  /**
   * The mined tuples from the distance matrix [N,N] of this miner's distance (already computed,
   * e.g. by a loss using the same Distance object). Runs without gradient.
   */
  mineMatrix(matrix: Tensor, labels: Tensor): Mined {
    return noGrad(() => tidy(() => this.mineFrom(matrix.detach(), labels)));
  }

  protected abstract mineFrom(matrix: Tensor, labels: Tensor): Mined;

  /** JSON settings. */
  abstract config(): MinerSpec;
}

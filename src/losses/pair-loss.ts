// PairLoss: a Head for losses over pairs or triplets of embeddings within a batch, composed as in
// pytorch-metric-learning (losses/base_metric_loss_function.py) from three seams:
//   distance — how embeddings compare (src/distances), with isInverted for similarities;
//   miner    — which pairs or triplets to use (miners/), its output Mined fits every pair loss;
//   reducer  — how the terms become the loss (reducers/), each loss with its own default.
// They learn an embedding only and have no class logits (classifies = false), hold no parameters,
// and need no numClasses (labels may be any int64 ids).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { cdist, normalize } from '../nn/functional.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';
import type { Distance, DistanceName, DistanceSpec } from '../distances/distance.js';
import { createDistance } from '../distances/create-distance.js';
import { Head } from './head.js';
import type { Reducer, ReducerSpec } from './reducers/reducer.js';
import { createReducer } from './reducers/create-reducer.js';
import type { Miner, MinerSpec } from './miners/miner.js';
import { createMiner } from './miners/create-miner.js';
import { type Mined, checkMined } from './miners/mined.js';

export interface PairLossConfig {
  embeddingDim: number;
  /** Optional: a pair loss does not use it (the trainer's centroid evaluation can). */
  numClasses?: number;
  /** 'euclidean', 'squaredEuclidean', 'cosine', 'dot', a spec or a Distance (default: per loss). */
  distance?: DistanceName | DistanceSpec | Distance;
  /** L2-normalise embeddings before comparing them (default true; the cosine similarity always does). */
  normalizeEmbeddings?: boolean;
  /** 'mean', 'meanNonZero', 'sum', { name: 'threshold', low, high } or a Reducer (default: per loss). */
  reducer?: ReducerSpec | Reducer;
  /** A miner spec or Miner replacing the loss's own mining; null for none (every pair or triplet). */
  miner?: MinerSpec | Miner | null;
}

export abstract class PairLoss extends Head {
  readonly classifies: boolean = false;
  readonly distance: Distance;
  readonly reducer: Reducer;
  /** Set by the miner option: replaces the loss's own mining. */
  readonly customMiner: Miner | null | undefined;

  constructor(cfg: PairLossConfig, defaults: { distance: DistanceName; reducer: ReducerSpec }) {
    super(cfg, false);
    const given = cfg.distance ?? defaults.distance;
    const name = typeof given === 'string' ? given : given instanceof Object && 'name' in given ? given.name : undefined;
    // The cosine similarity always normalises, so normalizeEmbeddings only applies to the others.
    const normalizeEmbeddings = name === 'cosine' ? undefined : cfg.normalizeEmbeddings;
    this.distance = createDistance(given, normalizeEmbeddings === undefined ? {} : { normalizeEmbeddings });
    this.reducer = createReducer(cfg.reducer ?? defaults.reducer);
    this.customMiner = cfg.miner === undefined || cfg.miner === null ? cfg.miner : createMiner(cfg.miner, this.distance);
  }

  /** The L2-normalisation setting of the distance. */
  get normalizeEmbeddings(): boolean {
    return this.distance.normalizeEmbeddings;
  }

  /** The miner used when loss() is not given mined tuples (null: every pair or triplet). */
  abstract readonly miner: Miner | null;

  /** The tuples this loss would use for a batch (its miner's, else every pair or triplet). */
  mine(embeddings: Tensor, labels: Tensor): Mined {
    this.checkBatch(embeddings, labels);
    return tidy(() => this.mineWith(this.distance.matrix(embeddings.detach()), embeddings, labels));
  }

  /**
   * The loss of a batch. With `mined` (from any miner), those tuples are used instead of the
   * loss's own mining.
   */
  loss(embeddings: Tensor, labels: Tensor, mined?: Mined): Tensor {
    this.checkBatch(embeddings, labels);
    if (mined !== undefined) checkMined(mined, embeddings.shape[0], `${this.name}.loss`);
    return tidy(() => {
      const matrix = this.distance.matrix(embeddings);
      return this.computeLoss(matrix, mined ?? this.mineWith(matrix, embeddings, labels), embeddings);
    });
  }

  /** The loss from the distance matrix [N,N] (with gradient) and the tuples to use. */
  protected abstract computeLoss(matrix: Tensor, mined: Mined, embeddings: Tensor): Tensor;

  /** The tuples when none are mined: every pair or every triplet of the labels. */
  protected abstract allTuples(labels: Tensor): Mined;

  /** The miner's tuples, reusing the loss's matrix when the miner shares its distance. */
  protected mineWith(matrix: Tensor, embeddings: Tensor, labels: Tensor): Mined {
    const miner = this.miner;
    if (miner === null) return this.allTuples(labels);
    return miner.distance === this.distance ? miner.mineMatrix(matrix, labels) : miner.mine(embeddings, labels);
  }

  /** Checks embeddings [N,D] and labels [N] (labels may be any int64 ids, not only 0…C−1). */
  protected checkBatch(embeddings: Tensor, labels: Tensor): void {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.loss`);
    checkLabels(labels, 'labels', embeddings.shape[0], undefined, `${this.name}.loss`);
  }

  /** The distance, reducer and custom miner settings, for config(). */
  protected seamOptions(): Record<string, unknown> {
    return {
      distance: this.distance.name,
      normalizeEmbeddings: this.distance.normalizeEmbeddings,
      reducer: this.reducer.config(),
      ...(this.customMiner === undefined ? {} : { miner: this.customMiner === null ? null : this.customMiner.config() }),
    };
  }
}

/** Gathers matrix[rows[i], cols[i]] for index vectors rows, cols: [T]. */
export function pairValues(matrix: Tensor, rows: Tensor, cols: Tensor): Tensor {
  return tidy(() => matrix.reshape(-1).gather(0, rows.mul(matrix.shape[1]).add(cols)));
}

/** Euclidean distances [N,N] between rows, after L2-normalising each row when normalized. */
export function pairwiseEuclidean(embeddings: Tensor, normalized: boolean): Tensor {
  return tidy(() => {
    const e = normalized ? normalize(embeddings, { dim: 1 }) : embeddings;
    return cdist(e, e);
  });
}

/** Cosine similarities [N,N] between rows. */
export function pairwiseCosineSimilarity(embeddings: Tensor): Tensor {
  return tidy(() => {
    const e = normalize(embeddings, { dim: 1 });
    return e.matmul(e.T);
  });
}

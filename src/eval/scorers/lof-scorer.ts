// Local outlier factor (Breunig, Kriegel, Ng & Sander 2000) in novelty mode, as sklearn's
// LocalOutlierFactor(novelty=True): score = −score_samples = LOF, so higher = more anomalous.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkInt } from '../../tensor/checks.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type KnnMetric, checkMetric, knnSearch } from '../knn.js';
import { type AnomalyScorer, FittedState } from './scorer.js';

export interface LofScorerOptions {
  /** Neighbours (sklearn's n_neighbors). Default 20. */
  k?: number;
  /** Default 'euclidean' (sklearn's minkowski p = 2); 'cosine' uses 1 − cos. */
  metric?: KnnMetric;
}

const OPTION_KEYS = ['k', 'metric'] as const;
// sklearn adds this to the mean reachability distance so duplicates give a large, finite density.
const DENSITY_EPS = 1e-10;

/**
 * Local reachability density of points whose k nearest training points (distances, indices)
 * are given: 1 / mean over neighbours o of reach-dist(p, o) = max(d(p, o), k-distance(o)).
 */
function reachabilityDensity(distances: Tensor, indices: Tensor, kDistance: Tensor): Tensor {
  const neighbourKDistance = kDistance.indexSelect(0, indices.flatten()).reshape(indices.shape);
  return distances.maximum(neighbourKDistance).mean(1).add(DENSITY_EPS).reciprocal();
}

export class LofScorer implements AnomalyScorer {
  readonly name = 'lof';
  readonly k: number;
  readonly metric: KnnMetric;
  readonly #state = new FittedState<{ train: Tensor; kDistance: Tensor; density: Tensor }>('lof');

  constructor(opts: LofScorerOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'the lof scorer');
    this.k = checkInt(opts.k ?? 20, 'k of the lof scorer', 1);
    this.metric = checkMetric(opts.metric ?? 'euclidean', 'metric of the lof scorer');
  }

  get options(): Record<string, unknown> {
    return { k: this.k, metric: this.metric };
  }

  fit(train: Tensor, _labels?: NumericInput): void {
    checkEmbeddings(train, 'train of the lof scorer');
    // sklearn clamps n_neighbors to n − 1 with a warning; a silent change of k would hide a mistake.
    checkInt(this.k, `k of the lof scorer (at most ${train.shape[0] - 1}: the training rows besides the point itself)`, 1, train.shape[0] - 1);
    const state = noGrad(() => tidy(() => {
      // float64 as sklearn, so densities of near-duplicates do not round to ties.
      const stored = train.to('float64');
      const { distances, indices } = knnSearch(stored, stored, { k: this.k, metric: this.metric, excludeSelf: true });
      const kDistance = distances.select(1, this.k - 1).clone();
      return { train: stored, kDistance, density: reachabilityDensity(distances, indices, kDistance) };
    }));
    this.#state.set(state, train.shape[1]);
  }

  /** LOF of each row of x against the training set: mean neighbour density / own density. */
  score(x: Tensor): Tensor {
    const { train, kDistance, density } = this.#state.get(x);
    return noGrad(() => tidy(() => {
      const { distances, indices } = knnSearch(x.to('float64'), train, { k: this.k, metric: this.metric });
      const own = reachabilityDensity(distances, indices, kDistance);
      const neighbours = density.indexSelect(0, indices.flatten()).reshape(indices.shape);
      return neighbours.mean(1).div(own);
    }));
  }

  fittedState(): Record<string, Tensor> {
    return { ...this.#state.tensors() };
  }

  loadFittedState(state: Record<string, Tensor>): void {
    this.#state.load(state, ['train', 'kDistance', 'density'], 'train');
  }

  dispose(): void {
    this.#state.clear();
  }
}

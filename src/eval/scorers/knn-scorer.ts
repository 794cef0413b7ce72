// k-NN distance scorer: far from its nearest normal training embeddings = anomalous.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkInt, describe } from '../../tensor/checks.js';
import { normalize } from '../../nn/functional.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type KnnMetric, checkMetric, knnSearch } from '../knn.js';
import { type AnomalyScorer, FittedState } from './scorer.js';

export interface KnnScorerOptions {
  /** Neighbours. Default 5. */
  k?: number;
  /** Default 'cosine' (1 − cos); 'euclidean' for ‖x − t‖₂. */
  metric?: KnnMetric;
  /** 'mean' of the k distances (default) or 'max' (the distance to the k-th neighbour). */
  reduce?: 'mean' | 'max';
}

const OPTION_KEYS = ['k', 'metric', 'reduce'] as const;

export class KnnScorer implements AnomalyScorer {
  readonly name = 'knn';
  readonly k: number;
  readonly metric: KnnMetric;
  readonly reduce: 'mean' | 'max';
  readonly #state = new FittedState<{ train: Tensor }>('knn');

  constructor(opts: KnnScorerOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'the knn scorer');
    this.k = checkInt(opts.k ?? 5, 'k of the knn scorer', 1);
    this.metric = checkMetric(opts.metric ?? 'cosine', 'metric of the knn scorer');
    if (opts.reduce !== undefined && opts.reduce !== 'mean' && opts.reduce !== 'max') {
      throw new TypeError(`Expected 'mean' or 'max' for reduce of the knn scorer but received ${describe(opts.reduce)}`);
    }
    this.reduce = opts.reduce ?? 'mean';
  }

  get options(): Record<string, unknown> {
    return { k: this.k, metric: this.metric, reduce: this.reduce };
  }

  /** Labels are not used: every normal embedding is a neighbour candidate. */
  fit(train: Tensor, _labels?: NumericInput): void {
    checkEmbeddings(train, 'train of the knn scorer');
    checkInt(this.k, `k of the knn scorer (at most the ${train.shape[0]} training rows)`, 1, train.shape[0]);
    // Normalised once here so every score() call skips it (knnSearch's cosine re-normalising is then a no-op).
    const stored = noGrad(() => tidy(() => (this.metric === 'cosine' ? normalize(train.float()) : train.float().clone())));
    this.#state.set({ train: stored }, train.shape[1]);
  }

  score(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.scoreAndSearch(x, this.k).scores));
  }

  /**
   * The scores and the `neighbours` nearest training rows (distances and indices) from one k-NN
   * search: the detector's explanations come with its score at the cost of one pass over the
   * training rows instead of two.
   */
  scoreAndSearch(x: Tensor, neighbours: number): { scores: Tensor; distances: Tensor; indices: Tensor } {
    const { train } = this.#state.get(x);
    return noGrad(() => tidy(() => {
      // The stored training rows are normalised at fit for cosine.
      const nn = knnSearch(x, train, { k: Math.max(this.k, neighbours), metric: this.metric, unitReferences: this.metric === 'cosine' });
      const mine = nn.distances.narrow(1, 0, this.k);
      const scores = this.reduce === 'mean' ? mine.mean(1) : mine.select(1, this.k - 1).clone();
      return { scores, distances: nn.distances.narrow(1, 0, neighbours).contiguous(), indices: nn.indices.narrow(1, 0, neighbours).contiguous() };
    }));
  }

  fittedState(): Record<string, Tensor> {
    return { ...this.#state.tensors() };
  }

  loadFittedState(state: Record<string, Tensor>): void {
    this.#state.load(state, ['train'], 'train');
  }

  dispose(): void {
    this.#state.clear();
  }
}

// Distance to the class centre: how far an embedding lies from the nearest normal class mean
// (or from the mean of all normal embeddings when no labels are given).
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { normalize } from '../../nn/functional.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type KnnMetric, checkMetric, knnSearch } from '../knn.js';
import { type AnomalyScorer, FittedState } from './scorer.js';
import { classMeans } from './class-means.js';

export interface CenterScorerOptions {
  /** 'cosine' (default): 1 − cos to the centre of unit-normalised embeddings; 'euclidean': ‖x − μ‖₂. */
  metric?: KnnMetric;
}

const OPTION_KEYS = ['metric'] as const;

export class CenterScorer implements AnomalyScorer {
  readonly name = 'center';
  readonly metric: KnnMetric;
  readonly #state = new FittedState<{ centres: Tensor }>('center');

  constructor(opts: CenterScorerOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'the center scorer');
    this.metric = checkMetric(opts.metric ?? 'cosine', 'metric of the center scorer');
  }

  get options(): Record<string, unknown> {
    return { metric: this.metric };
  }

  fit(train: Tensor, labels?: NumericInput): void {
    checkEmbeddings(train, 'train of the center scorer');
    const centres = noGrad(() => tidy(() => {
      // Cosine centres average directions, so one long embedding cannot drag the mean.
      const x = this.metric === 'cosine' ? normalize(train.float()) : train.float();
      return labels === undefined ? x.mean(0, true) : classMeans(x, labels).means;
    }));
    this.#state.set({ centres }, train.shape[1]);
  }

  score(x: Tensor): Tensor {
    const { centres } = this.#state.get(x);
    return noGrad(() => tidy(() => knnSearch(x, centres, { k: 1, metric: this.metric }).distances.squeeze(1)));
  }

  fittedState(): Record<string, Tensor> {
    return { ...this.#state.tensors() };
  }

  loadFittedState(state: Record<string, Tensor>): void {
    this.#state.load(state, ['centres'], 'centres');
  }

  dispose(): void {
    this.#state.clear();
  }
}

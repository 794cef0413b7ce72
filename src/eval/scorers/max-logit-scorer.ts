// Maximum-logit score (Hendrycks et al. 2022, arXiv:1911.11132; Vaze et al. 2022,
// arXiv:2110.06207): a classifier's largest logit, unlike the max softmax probability, keeps how
// strongly the image matched a class at all. Input: the head's class logits [M,C], not embeddings.
import { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type AnomalyScorer, FittedState } from './scorer.js';

export class MaxLogitScorer implements AnomalyScorer {
  readonly name = 'max-logit';
  /** What score() takes: class logits from a classifying head. */
  readonly input = 'logits' as const;
  readonly #state = new FittedState<Record<string, never>>('max-logit');

  constructor(opts: object = {}) {
    checkOptionKeys(opts, [], 'the max-logit scorer');
  }

  /** Nothing is learned; fit only fixes the number of classes score() expects. */
  fit(trainLogits: Tensor, _labels?: NumericInput): void {
    checkEmbeddings(trainLogits, 'logits of the max-logit scorer');
    this.#state.set({}, trainLogits.shape[1]);
  }

  /** −max_c logit_c: higher = more anomalous. */
  score(logits: Tensor): Tensor {
    this.#state.get(logits);
    return noGrad(() => tidy(() => logits.max(1).neg()));
  }

  dispose(): void {
    this.#state.clear();
  }
}

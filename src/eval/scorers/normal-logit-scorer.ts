// Normal-class logit score: minus the logit of the normal class (the largest of them when several
// classes are normal). Unlike 1 − p(normal) it does not saturate when the softmax is confident, so
// it still ranks images the head is sure about. Input: class logits [M,C] whose first
// `normalClasses` columns are the normal classes (the order the anomaly split gives them).
import { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkInt } from '../../tensor/checks.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type AnomalyScorer, FittedState } from './scorer.js';

export interface NormalLogitScorerOptions {
  /** How many leading logit columns are normal classes. Default 1. */
  normalClasses?: number;
}

export class NormalLogitScorer implements AnomalyScorer {
  readonly name = 'normal-logit';
  readonly input = 'logits' as const;
  readonly normalClasses: number;
  readonly #state = new FittedState<Record<string, never>>('normal-logit');

  constructor(opts: NormalLogitScorerOptions = {}) {
    checkOptionKeys(opts, ['normalClasses'], 'the normal-logit scorer');
    this.normalClasses = checkInt(opts.normalClasses ?? 1, 'normalClasses of the normal-logit scorer', 1);
  }

  fit(trainLogits: Tensor, _labels?: NumericInput): void {
    checkEmbeddings(trainLogits, 'logits of the normal-logit scorer');
    if (this.normalClasses >= trainLogits.shape[1]) {
      throw new TypeError(`Expected fewer normal classes (${this.normalClasses}) than logit columns for the normal-logit scorer but received ${trainLogits.shape[1]} columns`);
    }
    this.#state.set({}, trainLogits.shape[1]);
  }

  /** −max over the normal columns: higher = more anomalous. */
  score(logits: Tensor): Tensor {
    this.#state.get(logits);
    return noGrad(() => tidy(() => logits.narrow(1, 0, this.normalClasses).max(1).neg()));
  }

  dispose(): void {
    this.#state.clear();
  }
}

// Scores from a classifying head's raw logits rather than its softmax (Hendrycks et al. 2022,
// arXiv:1911.11132; Vaze et al. 2022, arXiv:2110.06207): the softmax normalises away how strongly
// an image matched any class at all, the logits keep it. Like msp and normal-prob they take the
// head when created (createScorer('max-logit', {}, { head })) and fit nothing.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkInt } from '../../tensor/checks.js';
import { checkOptionKeys } from '../inputs.js';
import { PosteriorScorer, type ScorerContext } from './posterior-scorers.js';

/** −max_c logit_c: higher = more anomalous. */
export class MaxLogitScorer extends PosteriorScorer {
  readonly name = 'max-logit';
  readonly options: Record<string, unknown> = {};

  constructor(opts: Record<string, never> = {}, context: ScorerContext = {}) {
    checkOptionKeys(opts, [], 'the max-logit scorer');
    super('max-logit', context);
  }

  score(x: Tensor): Tensor {
    const head = this.check(x);
    return noGrad(() => tidy(() => head.logits(x).max(1).neg()));
  }
}

export interface NormalLogitScorerOptions {
  /** The normal classes are the head's labels 0 … normalClassCount − 1 (as the anomaly split orders them). Default 1. */
  normalClassCount?: number;
}

/**
 * −(the normal class's logit), the largest of them when several classes are normal. Unlike
 * 1 − p(normal) it does not saturate when the softmax is confident, so it still ranks the images
 * the head is sure about.
 */
export class NormalLogitScorer extends PosteriorScorer {
  readonly name = 'normal-logit';
  readonly normalClassCount: number;

  constructor(opts: NormalLogitScorerOptions = {}, context: ScorerContext = {}) {
    checkOptionKeys(opts, ['normalClassCount'], 'the normal-logit scorer');
    super('normal-logit', context);
    const max = context.head ? context.head.numClasses - 1 : undefined;
    this.normalClassCount = checkInt(opts.normalClassCount ?? 1, `normalClassCount of the normal-logit scorer${max ? ` (fewer than the head's ${max + 1} classes)` : ''}`, 1, max);
  }

  get options(): Record<string, unknown> {
    return { normalClassCount: this.normalClassCount };
  }

  score(x: Tensor): Tensor {
    const head = this.check(x);
    return noGrad(() => tidy(() => head.logits(x).narrow(1, 0, this.normalClassCount).max(1).neg()));
  }
}

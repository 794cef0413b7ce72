// ThresholdReducer ('threshold'): the average of the terms strictly between low and high; 0 when
// none is. MeanNonZeroReducer ('meanNonZero') is the case low = 0 (pytorch-metric-learning's
// AvgNonZeroReducer, Hermans et al.'s "BA≠0"): terms already satisfied (0) do not dilute the average.
import type { Tensor } from '../../tensor/tensor.js';
import { checkFinite } from '../../tensor/checks.js';
import { Reducer, type ReducerSpec } from './reducer.js';

export interface ThresholdReducerOptions {
  /** Keep terms > low (default: no lower bound). */
  low?: number;
  /** Keep terms < high (default: no upper bound). */
  high?: number;
}

export class ThresholdReducer extends Reducer {
  readonly name: 'threshold' | 'meanNonZero' = 'threshold';
  readonly low: number | undefined;
  readonly high: number | undefined;

  constructor(opts: ThresholdReducerOptions = {}) {
    super();
    this.low = opts.low === undefined ? undefined : checkFinite(opts.low, 'low of the threshold reducer');
    this.high = opts.high === undefined ? undefined : checkFinite(opts.high, 'high of the threshold reducer');
    if (this.low === undefined && this.high === undefined) {
      throw new RangeError('Expected low, high or both for the threshold reducer but received neither');
    }
    if (this.low !== undefined && this.high !== undefined && !(this.low < this.high)) {
      throw new RangeError(`Expected low < high for the threshold reducer but received low ${this.low} and high ${this.high}`);
    }
  }

  protected reduceTerms(terms: Tensor): Tensor {
    const above = this.low === undefined ? null : terms.gt(this.low);
    const below = this.high === undefined ? null : terms.lt(this.high);
    const kept = above && below ? above.logicalAnd(below) : (above ?? below)!;
    return terms.maskedFill(kept.logicalNot(), 0).sum().div(kept.sum().clampMin(1));
  }

  override config(): ReducerSpec {
    return { name: 'threshold', ...(this.low === undefined ? {} : { low: this.low }), ...(this.high === undefined ? {} : { high: this.high }) };
  }
}

export class MeanNonZeroReducer extends ThresholdReducer {
  override readonly name = 'meanNonZero' as const;

  constructor() {
    super({ low: 0 });
  }

  override config(): ReducerSpec {
    return 'meanNonZero';
  }
}

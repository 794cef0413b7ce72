// SumReducer ('sum'): the sum of all terms.
import type { Tensor } from '../../tensor/tensor.js';
import { Reducer } from './reducer.js';

export class SumReducer extends Reducer {
  readonly name = 'sum' as const;

  protected reduceTerms(terms: Tensor): Tensor {
    return terms.sum();
  }
}

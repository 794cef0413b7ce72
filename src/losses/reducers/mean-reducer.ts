// MeanReducer ('mean'): the average of all terms.
import type { Tensor } from '../../tensor/tensor.js';
import { Reducer } from './reducer.js';

export class MeanReducer extends Reducer {
  readonly name = 'mean' as const;

  protected reduceTerms(terms: Tensor): Tensor {
    return terms.mean();
  }
}

// Reducer: turns a loss's terms (one per triplet, pair or sample) into the scalar loss
// (pytorch-metric-learning's reducers/). Each loss has a default; any reducer fits any loss.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { checkTensor } from '../../tensor/tensor-checks.js';

export type ReducerName = 'mean' | 'meanNonZero' | 'sum' | 'threshold';
export const REDUCER_NAMES: readonly ReducerName[] = ['mean', 'meanNonZero', 'sum', 'threshold'];

/** The JSON form of a reducer: a name, or { name: 'threshold', low, high }. */
export type ReducerSpec = Exclude<ReducerName, 'threshold'> | { name: ReducerName; low?: number; high?: number };

export abstract class Reducer {
  abstract readonly name: ReducerName;

  /**
   * The scalar loss from terms [T]. With no terms the loss is 0, still connected to `source` (the
   * embeddings) so that backward() works and gives a zero gradient.
   */
  reduce(terms: Tensor, source: Tensor): Tensor {
    checkTensor(terms, 'terms', `${this.name} reducer`);
    if (terms.ndim !== 1) throw new RangeError(`${this.name} reducer: Expected 1-d terms [T] but received shape [${terms.shape.join(',')}]`);
    if (terms.shape[0] === 0) return tidy(() => source.sum().mul(0));
    return tidy(() => this.reduceTerms(terms));
  }

  /** The reduction of at least one term. */
  protected abstract reduceTerms(terms: Tensor): Tensor;

  /** JSON settings; createReducer(config()) rebuilds this reducer. */
  config(): ReducerSpec {
    return this.name as Exclude<ReducerName, 'threshold'>;
  }
}

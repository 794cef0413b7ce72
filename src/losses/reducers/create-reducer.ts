// createReducer: a reducer from its name or JSON spec, so losses and the CLI select one by string
// and a saved config rebuilds it.
import { describe } from '../../tensor/checks.js';
import { Reducer, REDUCER_NAMES, type ReducerSpec } from './reducer.js';
import { MeanReducer } from './mean-reducer.js';
import { SumReducer } from './sum-reducer.js';
import { MeanNonZeroReducer, ThresholdReducer } from './threshold-reducer.js';

/** A Reducer from a name ('mean'), a spec ({ name: 'threshold', low: 0.1 }) or a Reducer (returned as is). */
export function createReducer(spec: ReducerSpec | Reducer): Reducer {
  if (spec instanceof Reducer) return spec;
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : (spec ?? {}) as Exclude<ReducerSpec, string>;
  const expected = `one of ${REDUCER_NAMES.map((n) => `'${n}'`).join(', ')}`;
  if (typeof name !== 'string') throw new TypeError(`Expected a reducer name (${expected}), a { name, low, high } spec or a Reducer but received ${describe(spec)}`);
  const unknown = Object.keys(options).filter((k) => name !== 'threshold' || (k !== 'low' && k !== 'high'));
  if (unknown.length > 0) throw new RangeError(`Expected no options beyond the name for the ${name} reducer but received ${unknown.map((k) => `'${k}'`).join(', ')}`);
  switch (name) {
    case 'mean': return new MeanReducer();
    case 'meanNonZero': return new MeanNonZeroReducer();
    case 'sum': return new SumReducer();
    case 'threshold': return new ThresholdReducer(options);
    default: throw new RangeError(`Expected a reducer name, ${expected}, but received ${describe(name)}`);
  }
}

// Reducers from loss terms to the loss: re-exports only.
export { Reducer, REDUCER_NAMES, type ReducerName, type ReducerSpec } from './reducer.js';
export { MeanReducer } from './mean-reducer.js';
export { SumReducer } from './sum-reducer.js';
export { ThresholdReducer, MeanNonZeroReducer, type ThresholdReducerOptions } from './threshold-reducer.js';
export { createReducer } from './create-reducer.js';

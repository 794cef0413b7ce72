// Public API of deepmetric: re-exports only.
export { Tensor, type Operand, type MemoryFormat, type Reduction } from './tensor/tensor.js';
export { type DType, DTYPES, type TypedArray } from './tensor/dtype.js';
export { type Device, cudaAvailable } from './tensor/device.js';
export { tidy, keep, dispose, liveTensors } from './tensor/memory.js';
export * from './tensor/creation.js';
export { cat, stack, where } from './tensor/combine.js';
export { noGrad, enableGrad, isGradEnabled } from './tensor/grad-mode.js';
export { setNumThreads, getNumThreads, torchVersion, parallelInfo, buildConfig, profile } from './tensor/runtime.js';
export * as F from './nn/functional.js';
export { Optimizer, Adam, AdamW, SGD, type AdamOptions, type SGDOptions } from './optim/optimizer.js';
export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors } from './serialize/safetensors.js';
export * as nn from './nn/index.js';
export { Module, type StateDict } from './nn/module.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as losses from './losses/index.js';
export { createHead, Head, type HeadConfig } from './losses/index.js';
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from './data/load-dataset.js';

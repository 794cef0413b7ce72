// Public API of deepmetric: re-exports only. Everything the README shows is importable from
// 'deepmetric'; each area is also a namespace (e.g. `anomaly.fitDetector`, `training.train`).

// Tensors, memory, autograd, runtime.
export { Tensor, type Operand, type MemoryFormat, type Reduction } from './tensor/tensor.js';
export { type DType, DTYPES, type TypedArray } from './tensor/dtype.js';
export { type Device, cudaAvailable } from './tensor/device.js';
export { tidy, keep, dispose, liveTensors } from './tensor/memory.js';
export { arange, type CreateOptions, eye, full, fullLike, getRngState, linspace, manualSeed, ones, onesLike, rand, randint, randn, randperm, scalar, setRngState, tensor, zeros, zerosLike } from './tensor/creation.js';
export { cat, stack, where } from './tensor/combine.js';
export { noGrad, enableGrad, isGradEnabled } from './tensor/grad-mode.js';
export { setNumThreads, getNumThreads, torchVersion, parallelInfo, mallocInfo, buildConfig, profile } from './tensor/runtime.js';
export { TorchError, UsageError, DataFileError, TrainingDivergedError } from './errors.js';

// Layers, models, losses, optimizers.
export * as F from './nn/functional.js';
export * as nn from './nn/index.js';
export { Module, type StateDict } from './nn/module.js';
export * as models from './models/index.js';
export * as weights from './weights/index.js';
export { loadWeights, type LoadWeightsOptions, type LoadedWeights } from './weights/index.js';
export * as losses from './losses/index.js';
export { createHead, Head, type HeadConfig } from './losses/index.js';
export * as distances from './distances/index.js';
export * as optim from './optim/index.js';
export { Optimizer, Adam, AdamW, SGD, type AdamOptions, type SGDOptions } from './optim/optimizer.js';
export * as schedules from './optim/schedule.js';

// Data, training, evaluation.
export * as data from './data/index.js';
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from './data/load-dataset.js';
export * as inference from './inference/index.js';
export * as training from './train/index.js';
// Model construction from typed options (what the commands build from their flags).
export * as experiment from './experiment/index.js';
export { train, type TrainRun, type TrainConfig, type TrainResult } from './train/trainer.js';
export { runTrainingLoop, type TrainingHooks, type TrainingLoopOptions, type TrainingLoopResult } from './train/training-loop.js';
export * as evaluation from './eval/index.js';
export * as distributed from './distributed/index.js';

// Anomaly detection, look-alike search, deployment.
export * as anomaly from './anomaly/index.js';
export { AnomalyDetector, DETECTOR_EXTENSION, type DetectorManifest, type DetectorResult, type Neighbour } from './anomaly/anomaly-detector.js';
export { fitDetector, ONE_CLASS_METHODS, type FitDetectorOptions, type FitMethod } from './anomaly/fit-detector.js';
export { scoreImageFiles, type FileScore } from './anomaly/score-files.js';
export { prepareImage, type Preprocessing } from './data/preprocessing.js';
export * as search from './search/index.js';
export * as onnx from './export/index.js';
export { exportOnnx, buildOnnxModel, exportCheckpointOnnx, type OnnxExportOptions } from './export/index.js';
export * as serve from './serve/index.js';
export { createServer, type ServeOptions } from './serve/index.js';

// Files, reports, utilities.
export * as serialize from './serialize/index.js';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './serialize/safetensors.js';
export * as report from './report/index.js';
export * as util from './util/index.js';

// Training: the loop with hooks, train(), evaluation, checkpoints — re-exports only.
export { createOptimizer, type EpochRecord, type OptimizerConfig, train, type TrainConfig, type TrainResult, type TrainRun } from './trainer.js';
export { type BatchLoss, type EpochDecision, type EpochProgress, type EpochSource, runTrainingLoop, type StepContext, type TrainingHooks, type TrainingLoopOptions, type TrainingLoopResult } from './training-loop.js';
export { evaluate, type Evaluation } from './evaluate.js';
export { type CheckpointContent, loadCheckpoint, type LoadedCheckpoint, saveCheckpoint } from './checkpoint.js';
export { labelsToTensor } from './batch-tensors.js';
// Inference moved to src/inference; re-exported so the public `training` namespace keeps its names.
export { datasetSlice, embedDataset, imagesToTensor, inEvalMode, type InputNormalization, ranges, type UInt8Images } from '../inference/index.js';
export type { BatchTask, BatchTaskStep } from './batch-task.js';
export { checkSameClasses, loadTrainedModel, type TrainedModel } from './trained-model.js';
export { batchNormLayers, PreciseBatchNorm, recalibrateBatchNorm } from './precise-bn.js';
export { backboneBnMomentum, chanceAccuracy, type ChanceCheck, chanceWarning, ChanceWatch } from './chance-warning.js';
export { nonFiniteTensor } from './finite-check.js';
export { backboneHasOwnGroup, createBackboneGroupsOptimizer, setTrainingMode, untrainedRun } from './pretrained-training.js';

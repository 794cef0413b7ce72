// Metric-learning heads and losses: re-exports only.
export { Head, type HeadConfig } from './head.js';
export { ClassificationHead } from './classification-head.js';
export { createHead, HEAD_NAMES } from './registry.js';
export { SoftmaxHead, type SoftmaxHeadConfig } from './softmax-head.js';
export { L2SoftmaxHead, l2SoftmaxAlphaLow, type L2SoftmaxHeadConfig } from './l2-softmax-head.js';
export { MarginSoftmaxHead, type MarginSoftmaxHeadConfig } from './margin-softmax-head.js';
export { NormalizedSoftmaxHead, type NormalizedSoftmaxHeadConfig } from './normalized-softmax-head.js';
export { CosFaceHead, type CosFaceHeadConfig } from './cosface-head.js';
export { ArcFaceHead, type ArcFaceHeadConfig } from './arcface-head.js';
export { SphereFaceHead, type SphereFaceHeadConfig } from './sphereface-head.js';
export { AdaCosHead, adaCosFixedScale, type AdaCosHeadConfig } from './adacos-head.js';
export { SubCenterArcFaceHead, type SubCenterArcFaceHeadConfig } from './subcenter-arcface-head.js';
export type { BaseHeadConfig } from './head.js';
export { PairLoss, type PairLossConfig, pairValues, pairwiseEuclidean, pairwiseCosineSimilarity } from './pair-loss.js';
export { ContrastiveLoss, type ContrastiveLossConfig, type PairDistance } from './contrastive-loss.js';
export { TripletMarginLoss, type TripletMarginLossConfig } from './triplet-margin-loss.js';
export {
  Miner, type MinerName, type MinerSpec, createMiner, type Mined, type MinedPairs, type MinedTriplets, allPairs, allTriplets, checkMined,
  minedPairMasks, pairsFromMasks, toPairs, toTriplets, tripletsFromMasks, TripletMiner, type TripletMinerOptions, MultiSimilarityMiner,
  type MultiSimilarityMinerOptions,
} from './miners/index.js';
export { mineTriplets, TRIPLET_MINING, type TripletMining, type Triplets } from './miners/index.js';
export { MultiSimilarityLoss, type MultiSimilarityLossConfig } from './multi-similarity-loss.js';
export { multiSimilarityMine } from './miners/index.js';
export {
  Reducer, REDUCER_NAMES, type ReducerName, type ReducerSpec, MeanReducer, SumReducer, ThresholdReducer, MeanNonZeroReducer,
  type ThresholdReducerOptions, createReducer,
} from './reducers/index.js';
export { MultipleLosses, type MultipleLossesConfig, type LossModule } from './multiple-losses.js';
export { CenterLoss, type CenterLossConfig } from './center-loss.js';
export { SoftmaxCenterHead, type SoftmaxCenterHeadConfig } from './softmax-center-head.js';
export { RotationHead, type RotationHeadConfig } from './rotation-head.js';
export { type ImageLayout, rotate90, ROTATION_COUNT, rotationBatch, type RotationBatch } from './rotate.js';

// Evaluation: embeddings, nearest neighbours, metrics and anomaly scorers — re-exports only.
export { extractEmbeddings, type EmbeddingModel, type ExtractOptions } from './embeddings.js';
export { knnSearch, KNN_METRICS, type KnnMetric, type KnnOptions, type KnnResult } from './knn.js';
export { HnswIndex, hnswAvailable, type HnswIndexOptions } from './hnsw-index.js';
export { accuracy, perClassAccuracy, confusionMatrix, type Predictions } from './classification.js';
export { precisionAt1, rPrecision, mapAtR, recallAtK, type RetrievalInput } from './retrieval.js';
export { kmeans, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { nmi, ami } from './mutual-information.js';
export { RetrievalCalculator, RETRIEVAL_METRICS, type RetrievalMetric, type RetrievalCalculatorOptions, type RetrievalData } from './retrieval-calculator.js';
export { auroc, rocCurve, fprAtTpr, type RocCurve, type RocCurveOptions } from './roc.js';
export { aupr } from './average-precision.js';
export type { NumericInput } from './inputs.js';
export { type AnomalyScorer, CenterScorer, type CenterScorerOptions, createScorer, HEAD_SCORER_NAMES, KnnScorer, type KnnScorerOptions, ledoitWolf, type LedoitWolfResult, LofScorer, type LofScorerOptions, MahalanobisScorer, type MahalanobisScorerOptions, MaxLogitScorer, maxSoftmaxScore, MspScorer, NormalLogitScorer, type NormalLogitScorerOptions, normalPosteriorScore, NormalProbScorer, type NormalProbScorerOptions, SCORER_INFO, SCORER_NAMES, type ScorerContext, scorerInfo, type ScorerInfo, type ScorerKind, type ScorerName, type ScorerNeeds, scorerNeedsHead, type ScorerOptionsByName } from './scorers/index.js';

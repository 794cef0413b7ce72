// Anomaly scorers: re-exports only.
export type { AnomalyScorer } from './scorer.js';
export { KnnScorer, type KnnScorerOptions } from './knn-scorer.js';
export { LofScorer, type LofScorerOptions } from './lof-scorer.js';
export { MahalanobisScorer, type MahalanobisScorerOptions } from './mahalanobis-scorer.js';
export { CenterScorer, type CenterScorerOptions } from './center-scorer.js';
export { MspScorer, NormalProbScorer, maxSoftmaxScore, normalPosteriorScore, type NormalProbScorerOptions, type ScorerContext } from './posterior-scorers.js';
export { ledoitWolf, type LedoitWolfResult } from './ledoit-wolf.js';
export { createScorer, scorerInfo, scorerNeedsHead, SCORER_INFO, SCORER_NAMES, HEAD_SCORER_NAMES, type ScorerInfo, type ScorerKind, type ScorerName, type ScorerNeeds, type ScorerOptionsByName } from './registry.js';
export { MaxLogitScorer, NormalLogitScorer, type NormalLogitScorerOptions } from './logit-scorers.js';

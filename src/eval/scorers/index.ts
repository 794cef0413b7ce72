// Anomaly scorers: re-exports only.
export { type AnomalyScorer } from './scorer.js';
export { KnnScorer, type KnnScorerOptions } from './knn-scorer.js';
export { LofScorer, type LofScorerOptions } from './lof-scorer.js';
export { MahalanobisScorer, type MahalanobisScorerOptions } from './mahalanobis-scorer.js';
export { CenterScorer, type CenterScorerOptions } from './center-scorer.js';
export { ledoitWolf, type LedoitWolfResult } from './ledoit-wolf.js';
export { createScorer, SCORER_NAMES, type ScorerName, type ScorerOptionsByName } from './registry.js';
export { MaxLogitScorer } from './max-logit-scorer.js';
export { NormalLogitScorer, type NormalLogitScorerOptions } from './normal-logit-scorer.js';

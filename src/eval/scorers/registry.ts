// Scorers by name, for the CLI's --score flag.
import { describe } from '../../tensor/checks.js';
import { type AnomalyScorer } from './scorer.js';
import { KnnScorer, type KnnScorerOptions } from './knn-scorer.js';
import { LofScorer, type LofScorerOptions } from './lof-scorer.js';
import { MahalanobisScorer, type MahalanobisScorerOptions } from './mahalanobis-scorer.js';
import { CenterScorer, type CenterScorerOptions } from './center-scorer.js';

export interface ScorerOptionsByName {
  knn: KnnScorerOptions;
  lof: LofScorerOptions;
  mahalanobis: MahalanobisScorerOptions;
  center: CenterScorerOptions;
}
export type ScorerName = keyof ScorerOptionsByName;

const FACTORIES: { [N in ScorerName]: (opts: ScorerOptionsByName[N]) => AnomalyScorer } = {
  knn: (opts) => new KnnScorer(opts),
  lof: (opts) => new LofScorer(opts),
  mahalanobis: (opts) => new MahalanobisScorer(opts),
  center: (opts) => new CenterScorer(opts),
};

export const SCORER_NAMES = Object.keys(FACTORIES) as ScorerName[];

/** A new, unfitted scorer. Unknown names and unknown option keys are rejected. */
export function createScorer<N extends ScorerName>(name: N, opts?: ScorerOptionsByName[N]): AnomalyScorer;
export function createScorer(name: string, opts?: object): AnomalyScorer;
export function createScorer(name: string, opts: object = {}): AnomalyScorer {
  if (!Object.hasOwn(FACTORIES, name)) {
    throw new TypeError(`Unknown anomaly scorer ${describe(name)}: expected one of ${SCORER_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  return (FACTORIES[name as ScorerName] as (o: object) => AnomalyScorer)(opts);
}

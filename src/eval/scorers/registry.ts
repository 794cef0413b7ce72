// Scorers by name, for the CLI's --score flag and for rebuilding a saved detector.
import { describe } from '../../tensor/checks.js';
import type { AnomalyScorer } from './scorer.js';
import { KnnScorer, type KnnScorerOptions } from './knn-scorer.js';
import { LofScorer, type LofScorerOptions } from './lof-scorer.js';
import { MahalanobisScorer, type MahalanobisScorerOptions } from './mahalanobis-scorer.js';
import { CenterScorer, type CenterScorerOptions } from './center-scorer.js';
import { MspScorer, NormalProbScorer, type NormalProbScorerOptions, type ScorerContext } from './posterior-scorers.js';
import { MaxLogitScorer, NormalLogitScorer, type NormalLogitScorerOptions } from './logit-scorers.js';

export interface ScorerOptionsByName {
  knn: KnnScorerOptions;
  lof: LofScorerOptions;
  mahalanobis: MahalanobisScorerOptions;
  center: CenterScorerOptions;
  msp: Record<string, never>;
  'normal-prob': NormalProbScorerOptions;
  'max-logit': Record<string, never>;
  'normal-logit': NormalLogitScorerOptions;
}
export type ScorerName = keyof ScorerOptionsByName;

const FACTORIES: { [N in ScorerName]: (opts: ScorerOptionsByName[N], context: ScorerContext) => AnomalyScorer } = {
  knn: (opts) => new KnnScorer(opts),
  lof: (opts) => new LofScorer(opts),
  mahalanobis: (opts) => new MahalanobisScorer(opts),
  center: (opts) => new CenterScorer(opts),
  msp: (opts, context) => new MspScorer(opts, context),
  'normal-prob': (opts, context) => new NormalProbScorer(opts, context),
  'max-logit': (opts, context) => new MaxLogitScorer(opts, context),
  'normal-logit': (opts, context) => new NormalLogitScorer(opts, context),
};

export const SCORER_NAMES = Object.keys(FACTORIES) as ScorerName[];

/** Scorers that read a classifying head's logits (pass { head } to createScorer) instead of fitting on embeddings alone. */
export const HEAD_SCORER_NAMES: readonly ScorerName[] = ['msp', 'normal-prob', 'max-logit', 'normal-logit'];

export function scorerNeedsHead(name: string): boolean {
  return (HEAD_SCORER_NAMES as readonly string[]).includes(name);
}

/**
 * A new, unfitted scorer. Unknown names and unknown or invalid options are rejected here, before
 * any fitting. context.head is required by the posterior scorers (msp, normal-prob).
 */
export function createScorer<N extends ScorerName>(name: N, opts?: ScorerOptionsByName[N], context?: ScorerContext): AnomalyScorer;
export function createScorer(name: string, opts?: object, context?: ScorerContext): AnomalyScorer;
export function createScorer(name: string, opts: object = {}, context: ScorerContext = {}): AnomalyScorer {
  if (!Object.hasOwn(FACTORIES, name)) {
    throw new TypeError(`Unknown anomaly scorer ${describe(name)}: expected one of ${SCORER_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`Expected an object of options for the ${name} scorer but received ${describe(opts)}`);
  }
  return (FACTORIES[name as ScorerName] as (o: object, c: ScorerContext) => AnomalyScorer)(opts, context);
}

// Scorers by name, for the CLI's --score flag and for rebuilding a saved detector. Each entry says
// what the scorer needs besides the normal training embeddings; the anomaly layer adds the scores
// that need the network itself (src/anomaly/scores/registry.ts) and lists these first.
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

/** 'embedding': fitted on the normal training embeddings; 'logit': reads a classifying head's logits, fits nothing. */
export type ScorerKind = 'embedding' | 'logit';

/** What a scorer needs besides embeddings. */
export interface ScorerNeeds {
  /** A classifying head's logits (pass { head } to createScorer). */
  logits?: true;
  /** The option normalClassCount, which callers default to the anomaly split's normal class count. */
  normalClasses?: true;
}

/** One registry scorer: its name, a one-line description, its kind and needs. */
export interface ScorerInfo {
  readonly name: ScorerName;
  readonly kind: ScorerKind;
  readonly description: string;
  readonly needs: Readonly<ScorerNeeds>;
}

type Entry<N extends ScorerName> = Omit<ScorerInfo, 'name'> & { create: (opts: ScorerOptionsByName[N], context: ScorerContext) => AnomalyScorer };

/** The registry, in the order --score lists its choices. */
const SCORERS: { [N in ScorerName]: Entry<N> } = {
  knn: { kind: 'embedding', description: 'distance to the k nearest normal embeddings', needs: {}, create: (opts) => new KnnScorer(opts) },
  lof: { kind: 'embedding', description: 'local outlier factor among the normal embeddings', needs: {}, create: (opts) => new LofScorer(opts) },
  mahalanobis: { kind: 'embedding', description: 'Mahalanobis distance to the nearest normal class mean (Ledoit–Wolf covariance)', needs: {}, create: (opts) => new MahalanobisScorer(opts) },
  center: { kind: 'embedding', description: 'distance to the nearest normal class centre', needs: {}, create: (opts) => new CenterScorer(opts) },
  msp: { kind: 'logit', description: '1 − max softmax probability', needs: { logits: true }, create: (opts, context) => new MspScorer(opts, context) },
  'normal-prob': { kind: 'logit', description: '1 − probability of the normal classes', needs: { logits: true, normalClasses: true }, create: (opts, context) => new NormalProbScorer(opts, context) },
  'max-logit': { kind: 'logit', description: '−max logit', needs: { logits: true }, create: (opts, context) => new MaxLogitScorer(opts, context) },
  'normal-logit': { kind: 'logit', description: "−the normal class's logit", needs: { logits: true, normalClasses: true }, create: (opts, context) => new NormalLogitScorer(opts, context) },
};

/** Every registry scorer with its description and needs, in registry order. */
export const SCORER_INFO: readonly ScorerInfo[] = (Object.keys(SCORERS) as ScorerName[]).map((name) => {
  const { kind, description, needs } = SCORERS[name];
  return Object.freeze({ name, kind, description, needs: Object.freeze({ ...needs }) });
});

export const SCORER_NAMES: ScorerName[] = SCORER_INFO.map((s) => s.name);

/** Scorers that read a classifying head's logits (pass { head } to createScorer) instead of fitting on embeddings alone. */
export const HEAD_SCORER_NAMES: readonly ScorerName[] = SCORER_INFO.filter((s) => s.needs.logits).map((s) => s.name);

/** The registry's entry for a name, or undefined when it names no registry scorer. */
export function scorerInfo(name: string): ScorerInfo | undefined {
  return SCORER_INFO.find((s) => s.name === name);
}

export function scorerNeedsHead(name: string): boolean {
  return scorerInfo(name)?.needs.logits === true;
}

/**
 * A new, unfitted scorer. Unknown names and unknown or invalid options are rejected here, before
 * any fitting. context.head is required by the scorers that read logits (msp, normal-prob, …).
 */
export function createScorer<N extends ScorerName>(name: N, opts?: ScorerOptionsByName[N], context?: ScorerContext): AnomalyScorer;
export function createScorer(name: string, opts?: object, context?: ScorerContext): AnomalyScorer;
export function createScorer(name: string, opts: object = {}, context: ScorerContext = {}): AnomalyScorer {
  if (!Object.hasOwn(SCORERS, name)) {
    throw new TypeError(`Unknown anomaly scorer ${describe(name)}: expected one of ${SCORER_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`Expected an object of options for the ${name} scorer but received ${describe(opts)}`);
  }
  return (SCORERS[name as ScorerName].create as (o: object, c: ScorerContext) => AnomalyScorer)(opts, context);
}

// The anomaly scores by kind and their options: which read class logits, which need the network,
// and the checks of a scores' options object (as JSON text, e.g. --score-options).
import { createScorer } from '../eval/scorers/registry.js';
import type { ImageDataset } from '../data/dataset.js';
import { tidy } from '../tensor/memory.js';
import { randn } from '../tensor/creation.js';
import { UsageError } from '../errors.js';
import { checkScoreOptions } from './network-scores.js';
import { scoreIsKind, scoreNames, scoreNeeds } from './scores/registry.js';
import { ONE_CLASS_ROTATION } from '../experiment/model.js';

/** Scores that read class logits. */
export const POSTERIOR_SCORES: readonly string[] = scoreNames({ needs: 'logits' });
/** Scores beyond the registry's scorers: they need the network itself or other scores (network-scores.ts). */
export const QUALITY_SCORES: readonly string[] = scoreNames({ kind: ['network', 'fusion'] });
/** Every score (src/anomaly/scores/registry.ts). */
export const ANOMALY_SCORES: readonly string[] = scoreNames();

/** Options per score name. */
export type ScoreOptions = Record<string, Record<string, unknown>>;

/** Whether a run holds normal training images out: for scores that need them and for the one-class model. */
export function needsNormalHoldout(scores: readonly string[], heads: readonly string[]): boolean {
  return scores.some((s) => scoreNeeds(s, 'normalHoldout')) || heads.includes(ONE_CLASS_ROTATION);
}

/** The options per score from JSON text (undefined: none), each checked against its score. */
export function parseScoreOptions(raw: string | undefined, scores: string[]): ScoreOptions {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`Expected JSON for --score-options but received '${raw}' (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`Expected a JSON object of options per score for --score-options, e.g. {"knn":{"k":10}}, but received '${raw}'`);
  }
  for (const [name, opts] of Object.entries(parsed)) {
    if (!scores.includes(name)) throw new UsageError(`Expected --score-options keys among the scores in --score (${scores.join(', ')}) but received '${name}'`);
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new UsageError(`Expected an object of options for '${name}' in --score-options but received ${JSON.stringify(opts)}`);
    if (scoreNeeds(name, 'logits')) {
      if (Object.keys(opts).length > 0) throw new UsageError(`Expected no options for '${name}' in --score-options but received ${JSON.stringify(opts)}`);
      continue;
    }
    if (scoreIsKind(name, 'network', 'fusion')) {
      try {
        checkScoreOptions(name, opts as Record<string, unknown>);
      } catch (e) {
        throw new UsageError(`--score-options for '${name}': ${(e as Error).message}`);
      }
      continue;
    }
    try {
      createScorer(name, opts).dispose();
    } catch (e) {
      throw new UsageError(`--score-options for '${name}': ${(e as Error).message}`);
    }
  }
  return parsed as ScoreOptions;
}

/** Fails before any training when a scorer cannot be fitted on this many normal images (e.g. k too large). */
export function checkScorersFit(scores: string[], scoreOptions: ScoreOptions, fitSet: ImageDataset): void {
  // The embedding scorers (unknown names too: createScorer rejects them)
  for (const score of scores.filter((s) => !scoreIsKind(s, 'logit', 'network', 'fusion'))) {
    const scorer = createScorer(score, scoreOptions[score] ?? {});
    try {
      tidy(() => scorer.fit(randn([fitSet.labels.length, 4]), fitSet.labels));
    } catch (e) {
      throw new UsageError(`Expected a score that can be fitted on the ${fitSet.labels.length} normal training images but '${score}' cannot: ${(e as Error).message}`);
    } finally {
      scorer.dispose();
    }
  }
}

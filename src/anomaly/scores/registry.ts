// The one registry of anomaly scores: every name --score accepts, with a one-line description and
// what the score needs. The embedding and logit scorers come from the evaluation layer's registry
// (src/eval/scorers/registry.ts, which cannot see this layer); the scores that need the network
// itself or other scores are declared here. Every other list of score names is a filter over this
// one (scoreNames), and code that treats scores differently asks the registry (scoreInfo).
import { SCORER_INFO, type ScorerKind, type ScorerNeeds } from '../../eval/scorers/registry.js';

/** 'embedding' and 'logit': registry scorers (createScorer); 'network': computed from the network's other parts; 'fusion': from other scores. */
export type ScoreKind = ScorerKind | 'network' | 'fusion';

/** What a score needs besides the normal training embeddings. */
export interface ScoreNeeds extends ScorerNeeds {
  /** A rotation head (--aux rotation, or the one-class rotation model). */
  rotationHead?: true;
  /** Features at several layers of the backbone (--depths). */
  layers?: true;
  /** Held-out normal images (never trained on) for its z-normalisation statistics. */
  normalHoldout?: true;
}

export interface ScoreInfo {
  readonly name: string;
  readonly kind: ScoreKind;
  /** One line, as --score's help shows it. */
  readonly description: string;
  readonly needs: Readonly<ScoreNeeds>;
  /** 'fusion': the components fused when none are given (--fuse's default). */
  readonly defaultComponents?: readonly string[];
}

const NETWORK_SCORE_INFO: readonly ScoreInfo[] = [
  { name: 'rotation', kind: 'network', description: "−Σ log p(right rotation), with --aux rotation or the one-class 'rotation' model", needs: { rotationHead: true } },
  { name: 'mahalanobis-depths', kind: 'network', description: 'Mahalanobis distance at several layers of the backbone (--depths), z-normalised on held-out normal images', needs: { layers: true, normalHoldout: true } },
  { name: 'fusion', kind: 'fusion', description: 'the sum of the --fuse scores, each z-normalised on held-out normal images', needs: { normalHoldout: true }, defaultComponents: ['knn', 'normal-logit', 'rotation'] },
];

/** Every score, in the order --score lists them: the registry scorers, then the network scores and fusion. */
export const SCORES: readonly ScoreInfo[] = Object.freeze([...SCORER_INFO, ...NETWORK_SCORE_INFO.map((s) => Object.freeze({ ...s, needs: Object.freeze({ ...s.needs }) }))]);

/** Which scores scoreNames lists: of these kinds, with this need, without that one (all given must hold). */
export interface ScoreFilter {
  kind?: ScoreKind | readonly ScoreKind[];
  needs?: keyof ScoreNeeds;
  lacks?: keyof ScoreNeeds;
}

/** The names of the scores that pass the filter, in registry order (no filter: every score). */
export function scoreNames(filter: ScoreFilter = {}): string[] {
  const kinds = filter.kind === undefined ? null : typeof filter.kind === 'string' ? [filter.kind] : filter.kind;
  return SCORES.filter((s) => (!kinds || kinds.includes(s.kind)) && (!filter.needs || s.needs[filter.needs]) && (!filter.lacks || !s.needs[filter.lacks])).map((s) => s.name);
}

/** The registry's entry of a score, or undefined when no score has this name. */
export function scoreInfo(name: string): ScoreInfo | undefined {
  return SCORES.find((s) => s.name === name);
}

/** Whether the named score needs this (false for an unknown name). */
export function scoreNeeds(name: string, need: keyof ScoreNeeds): boolean {
  return scoreInfo(name)?.needs[need] === true;
}

/** Whether the named score is of one of these kinds (false for an unknown name). */
export function scoreIsKind(name: string, ...kinds: ScoreKind[]): boolean {
  const info = scoreInfo(name);
  return info !== undefined && kinds.includes(info.kind);
}

/** "'knn' = …; 'lof' = …": the scores and their descriptions, for a flag's help. */
export function scoreHelp(names: readonly string[] = scoreNames()): string {
  return names.map((n) => scoreInfo(n)!).map((s) => `'${s.name}' = ${s.description}${s.needs.logits ? ' (classifying heads only)' : ''}`).join('; ');
}

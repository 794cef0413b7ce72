// The anomaly flags that anomaly and fit-detector share — the threshold rule, rotation
// self-supervision (auxiliary or one-class), held-out normals for score fusion, flip test-time
// averaging, features at several depths, seeds — and the helpers that turn them into the library's
// typed options (src/anomaly/protocol.ts, src/experiment/model.ts).
import type { DatasetInput } from '../data/load-dataset.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { RotationHead } from '../losses/rotation-head.js';
import type { BatchTask } from '../train/batch-task.js';
import type { Device } from '../tensor/device.js';
import { DEFAULT_FUSE } from '../anomaly/network-scores.js';
import { scoreNames } from '../anomaly/scores/registry.js';
import { thresholdRuleOf as thresholdRule } from '../anomaly/threshold-rule.js';
import type { ThresholdRule } from '../anomaly/threshold.js';
import { auxiliaryRotation as auxiliaryRotationTask, buildOneClassRotation as buildOneClassRotationFrom, ONE_CLASS_ROTATION } from '../experiment/model.js';
import { aggregateSeeds, formatMeanStd, type SeedRow, type SeedSummary } from '../anomaly/seeds.js';
import { formatTable } from '../util/table.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';
import { modelOptions } from './experiment.js';

/** The --heads name of the one-class rotation model (GEOM-style): trained on normal images only, rotation its only task. */
export { ONE_CLASS_ROTATION };

/** The threshold flags, shared by anomaly and fit-detector. */
export const THRESHOLD_OPTIONS = {
  'threshold-fpr': { type: 'number', description: 'Detector threshold: the fraction of held-out normal validation images allowed to score above it, i.e. the false-positive rate (default 0.05: 95% of normal images fall at or below it)' },
  'threshold-tpr': { type: 'number', description: 'Detector threshold instead chosen so this fraction of the anomaly test images scores above it (the true-positive rate); needs anomaly images' },
} as const;

/** --threshold-fpr / --threshold-tpr as a library threshold rule. */
export function thresholdRuleOf(o: ParsedOptions): ThresholdRule {
  return thresholdRule({ fpr: o['threshold-fpr'] as number | undefined, tpr: o['threshold-tpr'] as number | undefined });
}

export const QUALITY_OPTIONS: Record<string, OptionSpec> = {
  aux: { type: 'list', choices: ['rotation'], description: "Auxiliary self-supervised task trained beside every class head: 'rotation' shows each batch in its 4 rotations and a small head predicts the rotation (Hendrycks et al. 2019)" },
  'aux-weight': { type: 'number', default: 0.5, description: 'Weight of the auxiliary loss' },
  fuse: { type: 'list', default: [...DEFAULT_FUSE], choices: scoreNames({ kind: ['embedding', 'logit', 'network'] }), description: "Components of --score fusion: each z-normalised on held-out normal training images, then summed" },
  depths: { type: 'string', default: 'auto', description: "Layers of the backbone's feature chain for --score mahalanobis-depths, e.g. --depths=2,-1 (negative counts from the end); 'auto' = a third, two thirds and the last" },
  tta: { type: 'string', default: 'none', choices: ['none', 'flip'], description: "Test-time augmentation: 'flip' averages each image's features (and rotation score) with its mirror image's" },
  'holdout-normal': { type: 'number', default: 0.1, description: 'Fraction of the normal training images held out (never trained on or fitted) for the z-normalisation of fusion and mahalanobis-depths, and as the one-class rotation model\'s validation set' },
  seeds: { type: 'list', description: 'Run the whole protocol once per seed (e.g. 0,1,2), each in OUT/seed-N; anomaly.json then holds every seed\'s rows and mean ± std per head × score' },
};

export function parseDepths(o: ParsedOptions): number[] | undefined {
  const raw = String(o.depths ?? 'auto').trim();
  if (raw === 'auto') return undefined;
  const depths = raw.split(',').map((t) => t.trim());
  if (depths.some((t) => !/^-?\d+$/.test(t))) throw new UsageError(`Expected 'auto' or comma-separated layer indices (e.g. 2,-1) for --depths but received '${raw}'`);
  return depths.map(Number);
}

export function parseSeeds(o: ParsedOptions): number[] | undefined {
  const raw = o.seeds as string[] | undefined;
  if (!raw) return undefined;
  const seeds = raw.map((t) => {
    if (!/^\d+$/.test(t)) throw new UsageError(`Expected non-negative integer seeds for --seeds but received '${t}'`);
    return Number(t);
  });
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`Expected different seeds for --seeds but received '${raw.join(',')}'`);
  return seeds;
}

/** The auxiliary rotation task of a class head's network (seeded after the network), or null without --aux rotation. */
export function auxiliaryRotation(o: ParsedOptions, model: EmbeddingNet): { task: BatchTask; rotationHead: RotationHead } | null {
  return auxRotationOf(o) ? auxiliaryRotationTask(model, { weight: o['aux-weight'] as number, device: o.device as Device }) : null;
}

/** --aux rotation as the protocol's auxiliary task (its loss weight), or null. */
export function auxRotationOf(o: ParsedOptions): { weight: number } | null {
  return ((o.aux as string[] | undefined) ?? []).includes('rotation') ? { weight: o['aux-weight'] as number } : null;
}

/** The one-class rotation model: the backbone seeded as every head's, a RotationHead as its only head. */
export function buildOneClassRotation(o: ParsedOptions, input?: Pick<DatasetInput, 'height' | 'channels'>): { model: EmbeddingNet; head: RotationHead; task: BatchTask } {
  return buildOneClassRotationFrom(modelOptions(o), input);
}

/** The per-seed rows and their mean ± std, as anomaly.json holds them after --seeds. */
export interface SeedsResults {
  seeds: number[];
  summary: SeedSummary[];
}

export function summarizeSeeds(rows: readonly SeedRow[], seeds: number[]): SeedsResults {
  return { seeds, summary: aggregateSeeds(rows) };
}

/** The human-readable mean ± std table, best mean AUROC first. */
export function seedsTable(summary: readonly SeedSummary[]): string {
  if (summary.length === 0) return '(no results)';
  return formatTable(seedsTableRows(summary));
}

export function seedsTableRows(summary: readonly SeedSummary[]): Array<Record<string, unknown>> {
  return [...summary].sort((a, b) => b.auroc_mean - a.auroc_mean).map((s) => ({
    head: s.head, score: s.score, seeds: s.seeds.length,
    auroc: formatMeanStd(s.auroc_mean, s.auroc_std), aupr: formatMeanStd(s.aupr_mean, s.aupr_std), fpr_at_95_tpr: formatMeanStd(s.fpr_at_95_tpr_mean, s.fpr_at_95_tpr_std),
  }));
}

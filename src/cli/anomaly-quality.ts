// The anomaly command's quality options — rotation self-supervision (auxiliary or one-class),
// held-out normals for score fusion, flip test-time averaging, features at several depths, seeds —
// and the helpers that wire them to the library. Kept apart from anomaly.ts so the protocol file
// only calls in.
import type { DatasetInput } from '../data/load-dataset.js';
import { manualSeed } from '../tensor/creation.js';
import { createEmbeddingNet } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { RotationHead } from '../losses/rotation-head.js';
import { RotationAuxiliaryTask, RotationOnlyTask } from '../anomaly/rotation/rotation-task.js';
import type { BatchTask } from '../train/batch-task.js';
import { COMPONENT_SCORES, DEFAULT_FUSE, NEEDS_VALIDATION, NETWORK_ONLY_SCORES } from '../anomaly/network-scores.js';
import { aggregateSeeds, formatMeanStd, type SeedRow, type SeedSummary } from '../anomaly/seeds.js';
import { formatTable } from '../util/table.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';
import { modelSpec } from './experiment.js';

/** The --heads name of the one-class rotation model (GEOM-style): trained on normal images only, rotation its only task. */
export const ONE_CLASS_ROTATION = 'rotation';

/** Scores beyond the registry's scorers: they need the network itself or other scores (src/anomaly/network-scores.ts). */
export const QUALITY_SCORES: readonly string[] = NETWORK_ONLY_SCORES;

export const QUALITY_OPTIONS: Record<string, OptionSpec> = {
  aux: { type: 'list', choices: ['rotation'], description: "Auxiliary self-supervised task trained beside every class head: 'rotation' shows each batch in its 4 rotations and a small head predicts the rotation (Hendrycks et al. 2019)" },
  'aux-weight': { type: 'number', default: 0.5, description: 'Weight of the auxiliary loss' },
  fuse: { type: 'list', default: [...DEFAULT_FUSE], choices: COMPONENT_SCORES, description: "Components of --score fusion: each z-normalised on held-out normal training images, then summed" },
  depths: { type: 'string', default: 'auto', description: "Layers of the backbone's feature chain for --score mahalanobis-depths, e.g. --depths=2,-1 (negative counts from the end); 'auto' = a third, two thirds and the last" },
  tta: { type: 'string', default: 'none', choices: ['none', 'flip'], description: "Test-time augmentation: 'flip' averages each image's features (and rotation score) with its mirror image's" },
  'holdout-normal': { type: 'number', default: 0.1, description: 'Fraction of the normal training images held out (never trained on or fitted) for the z-normalisation of fusion and mahalanobis-depths, and as the one-class rotation model\'s validation set' },
  seeds: { type: 'list', description: 'Run the whole protocol once per seed (e.g. 0,1,2), each in OUT/seed-N; anomaly.json then holds every seed\'s rows and mean ± std per head × score' },
};

/** Whether this run holds normal training images out: for scores that need them and for the one-class model. */
export function needsNormalHoldout(scores: readonly string[], heads: readonly string[]): boolean {
  return scores.some((s) => NEEDS_VALIDATION.includes(s)) || heads.includes(ONE_CLASS_ROTATION);
}

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
  if (!((o.aux as string[] | undefined) ?? []).includes('rotation')) return null;
  const rotationHead = new RotationHead({ embeddingDim: model.embeddingDim });
  if (o.device !== 'cpu') rotationHead.to(o.device as 'cuda');
  return { task: new RotationAuxiliaryTask(rotationHead, { weight: o['aux-weight'] as number }), rotationHead };
}

/** The one-class rotation model: the backbone seeded as every head's, a RotationHead as its only head. */
export function buildOneClassRotation(o: ParsedOptions, input?: Pick<DatasetInput, 'height' | 'channels'>): { model: EmbeddingNet; head: RotationHead; task: BatchTask } {
  manualSeed(o.seed as number);
  const model = createEmbeddingNet(modelSpec(o, input));
  const head = new RotationHead({ embeddingDim: model.embeddingDim });
  if (o.device !== 'cpu') {
    model.to(o.device as 'cuda');
    head.to(o.device as 'cuda');
  }
  return { model, head, task: new RotationOnlyTask() };
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

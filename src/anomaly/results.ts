// The anomaly protocol's results: one row per head × score, each head's training record, and what
// the figures need beyond anomaly.json (the scores and projections, kept in memory only).
import type { HeadRecord, RunInfo } from '../experiment/run-info.js';
import { anomalyMetrics, type AnomalyMetrics } from './anomaly-metrics.js';
import type { DetectorValidation } from './anomaly-detector.js';
import type { NetworkScore } from './network-scores.js';
import type { SeedSummary } from './seeds.js';
import type { Threshold } from './threshold.js';
import type { AutoencoderEpoch } from './train-autoencoder.js';

export interface AnomalyRow {
  head: string;
  score: string;
  score_options?: Record<string, unknown>;
  auroc: number;
  aupr: number;
  fpr_at_95_tpr: number;
  n_normal: number;
  n_anomaly: number;
  train_seconds: number;
  best_val_acc: number | null;
  /** With --seeds: the seed of this row. */
  seed?: number;
  /** fusion and mahalanobis-depths: the components and their z-normalisation statistics (held-out normal images). */
  components?: string[];
  normalization?: Record<string, { mean: number; std: number; n: number }>;
}

/** A head's training record: compare's, and the seed with --seeds. */
export interface AnomalyHeadRun extends HeadRecord {
  /** With --seeds: the seed of this head's run. */
  seed?: number;
}

export interface AnomalyProtocol {
  normal: string[];
  anomaly: string[];
  reference: string[];
  /** Training images of the heads (normal + reference; no anomaly image). */
  n_train: number;
  /** Normal training images the scorers are fitted on. */
  n_fit: number;
  /** Validation images for the training curves (test images of the normal and reference classes). */
  n_val: number;
  n_test_normal: number;
  n_test_anomaly: number;
  /** Which weights are scored: those after the last epoch (the validation set never selects a model). */
  model: 'final epoch';
  /** Normal training images held out (for fusion / mahalanobis-depths and the one-class model's validation). */
  n_holdout_normal?: number;
}

export interface AutoencoderRun {
  normal_only: boolean;
  n_train: number;
  lr: number;
  train_seconds: number;
  history: AutoencoderEpoch[];
}

export interface AnomalyResults extends RunInfo {
  schema: 'deepmetric/anomaly-results/1';
  dataset: { source: string; classes: string[] };
  protocol: AnomalyProtocol;
  config: Record<string, unknown>;
  results: AnomalyRow[];
  heads: AnomalyHeadRun[];
  autoencoder?: AutoencoderRun;
  /** The detector file written for the best row (by AUROC). */
  detector?: { path: string; head: string; score: string; threshold: Threshold; validation: DetectorValidation };
  /** Set when Ctrl-C stopped the run before every head was trained (resume with --resume). */
  interrupted?: boolean;
  /** With --seeds: the seeds and, per head × score, mean ± std over them. */
  seeds?: number[];
  summary?: SeedSummary[];
}

/** What the figures need beyond anomaly.json: the scores and projections, kept in memory only. */
export interface AnomalyFigures {
  rows: Array<{ row: AnomalyRow; metrics: AnomalyMetrics; normal: number[]; anomaly: number[] }>;
  projections: Map<string, { normal: number[][]; anomaly: number[][]; reference: number[][]; explained: number[] }>;
}

/** Scores one row (normal vs anomaly test scores) and adds it, with its figure data. */
export function addRow(figures: AnomalyFigures, r: { head: string; score: string; scoreOptions?: Record<string, unknown>; trainSeconds: number; bestValAcc: number | null }, normal: number[], anomaly: number[], extra?: NetworkScore): void {
  const metrics = anomalyMetrics(normal, anomaly);
  const row: AnomalyRow = {
    head: r.head, score: r.score, ...(r.scoreOptions && Object.keys(r.scoreOptions).length > 0 ? { score_options: r.scoreOptions } : {}),
    auroc: metrics.auroc, aupr: metrics.aupr, fpr_at_95_tpr: metrics.fpr_at_95_tpr, n_normal: metrics.n_normal, n_anomaly: metrics.n_anomaly,
    train_seconds: r.trainSeconds, best_val_acc: r.bestValAcc,
    ...(extra?.components ? { components: extra.components, normalization: extra.normalization } : {}),
  };
  figures.rows.push({ row, metrics, normal, anomaly });
}

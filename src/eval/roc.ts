// ROC analysis of anomaly scores: the curve, its area (AUROC) and the FPR at a target TPR.
import type { NumericInput } from './inputs.js';
import { binaryCurve, readBinaryProblem } from './binary-curve.js';
import { describe } from '../tensor/checks.js';

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** thresholds[i] gives (fpr[i], tpr[i]) when flagging scores ≥ it; the first is +Infinity (nothing flagged). */
  thresholds: number[];
}

export interface RocCurveOptions {
  /** Drop points on straight segments, which change nothing in the plot (sklearn's default). Default true. */
  dropIntermediate?: boolean;
}

/**
 * ROC curve points as sklearn's roc_curve: scores where higher = more anomalous, labels
 * 1 = anomaly. Starts at (0, 0) with threshold +Infinity and ends at (1, 1).
 */
export function rocCurve(scores: NumericInput, labels: NumericInput, opts: RocCurveOptions = {}): RocCurve {
  const c = binaryCurve(scores, labels, 'rocCurve');
  let keep = c.thresholds.map((_, i) => i);
  if ((opts.dropIntermediate ?? true) && keep.length > 2) {
    // A point is intermediate when the second difference of both fps and tps is zero there.
    keep = keep.filter((i) => i === 0 || i === keep.length - 1
      || c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1] !== 0 || c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1] !== 0);
  }
  return {
    fpr: [0, ...keep.map((i) => c.fps[i] / c.negatives)],
    tpr: [0, ...keep.map((i) => c.tps[i] / c.positives)],
    thresholds: [Infinity, ...keep.map((i) => c.thresholds[i])],
  };
}

/**
 * Area under the ROC curve: the probability that a random anomaly scores above a random normal
 * sample, ties counting one half. Computed from average ranks (Mann–Whitney U), which equals
 * sklearn's roc_auc_score (trapezoids over tied groups).
 */
export function auroc(scores: NumericInput, labels: NumericInput): number {
  const { s, y, positives, negatives } = readBinaryProblem(scores, labels, 'auroc');
  const order = Array.from(s.keys()).sort((a, b) => s[a] - s[b]);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && s[order[end + 1]] === s[order[start]]) end++;
    const averageRank = (start + end) / 2 + 1; // ranks are 1-based
    for (let i = start; i <= end; i++) if (y[order[i]] === 1) positiveRankSum += averageRank;
    start = end + 1;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * False-positive rate at the highest threshold that flags at least targetTpr of the anomalies
 * (the first ROC point with TPR ≥ target, hence the lowest FPR reaching it), as OOD-detection
 * papers report "FPR@95%TPR". Default target 0.95.
 */
export function fprAtTpr(scores: NumericInput, labels: NumericInput, targetTpr = 0.95): number {
  if (typeof targetTpr !== 'number' || !(targetTpr > 0 && targetTpr <= 1)) {
    throw new TypeError(`Expected a target TPR in (0, 1] but received ${describe(targetTpr)}`);
  }
  const c = binaryCurve(scores, labels, 'fprAtTpr');
  // Compare counts, not rates, so 0.95 × 20 = 19 positives is reached exactly (no float slack).
  const needed = Math.ceil(targetTpr * c.positives - 1e-9);
  const i = c.tps.findIndex((tp) => tp >= needed);
  return c.fps[i] / c.negatives;
}

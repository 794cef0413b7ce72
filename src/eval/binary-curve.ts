// Cumulative true/false positives at each distinct score threshold (sklearn's _binary_clf_curve).
import { type NumericInput, checkSameLength, readBinaryLabels, readScores } from './inputs.js';

export interface BinaryCurve {
  /** Distinct scores, descending: a sample is called anomalous when its score ≥ threshold. */
  thresholds: number[];
  /** True positives (anomalies flagged) at each threshold. */
  tps: number[];
  /** False positives (normals flagged) at each threshold. */
  fps: number[];
  positives: number;
  negatives: number;
}

/**
 * Scores (higher = more anomalous) and labels (1 = anomaly, 0 = normal) → counts at each distinct
 * threshold. Tied scores share one threshold, so a tie never counts as half-ranked either way.
 * Throws unless both classes are present, since every metric built on it is then undefined.
 */
/** Scores and 0/1 labels read and checked for a binary metric: same length, both classes present. */
export function readBinaryProblem(scores: NumericInput, labels: NumericInput, what: string): { s: number[]; y: number[]; positives: number; negatives: number } {
  const s = readScores(scores);
  const y = readBinaryLabels(labels);
  checkSameLength(s.length, y.length, 'labels', 'score');
  const positives = y.reduce((a, b) => a + b, 0);
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(`${what} needs both classes, but all ${y.length} labels are ${positives === 0 ? '0 (normal)' : '1 (anomaly)'}`);
  }
  return { s, y, positives, negatives };
}

export function binaryCurve(scores: NumericInput, labels: NumericInput, what: string): BinaryCurve {
  const { s, y, positives, negatives } = readBinaryProblem(scores, labels, what);
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  for (let i = 0; i < order.length; i++) {
    tp += y[order[i]];
    if (i === order.length - 1 || s[order[i + 1]] !== s[order[i]]) {
      thresholds.push(s[order[i]]);
      tps.push(tp);
      fps.push(i + 1 - tp);
    }
  }
  return { thresholds, tps, fps, positives, negatives };
}

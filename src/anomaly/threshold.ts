// Choosing the score above which an image is called anomalous. The default rule needs only
// normal images: on held-out normal validation images, a chosen fraction (the false-positive
// rate, default 5%) scores above the threshold. With labelled anomalies the threshold can instead
// be set so a chosen fraction of them (the true-positive rate) scores above it.
import { readScores } from '../eval/inputs.js';

export interface ThresholdRule {
  /** Fraction of normal validation images allowed above the threshold, in [0, 1). Default 0.05. */
  fpr?: number;
  /** Fraction of anomaly images that must score above the threshold, in (0, 1]; needs anomaly scores. */
  tpr?: number;
}

export interface Threshold {
  /** Images scoring strictly above this value are anomalous. */
  value: number;
  rule: 'fpr' | 'tpr';
  target: number;
}

/** The largest double strictly below x, so that "score > threshold" includes x itself. */
function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const b = new BigInt64Array(f.buffer);
  b[0] += x > 0 ? -1n : 1n;
  return f[0];
}

// Guards ceil() against 0.95 × 20 = 19.000000000000004.
const ceil = (x: number): number => Math.ceil(x - 1e-9);

export function checkThresholdRule(rule: ThresholdRule): ThresholdRule {
  if (rule.fpr !== undefined && rule.tpr !== undefined) throw new TypeError('Expected either a false-positive rate or a true-positive rate for the threshold, not both');
  if (rule.fpr !== undefined && !(typeof rule.fpr === 'number' && rule.fpr >= 0 && rule.fpr < 1)) {
    throw new RangeError(`Expected a false-positive rate in [0, 1) for the threshold but received ${rule.fpr}`);
  }
  if (rule.tpr !== undefined && !(typeof rule.tpr === 'number' && rule.tpr > 0 && rule.tpr <= 1)) {
    throw new RangeError(`Expected a true-positive rate in (0, 1] for the threshold but received ${rule.tpr}`);
  }
  return rule;
}

/**
 * fpr rule: the smallest normal validation score with at most fpr·n normal scores above it — for
 * the default 0.05, the 95th percentile (sorted[ceil(0.95·n) − 1]). tpr rule: just below the
 * anomaly score that leaves ceil(tpr·m) anomalies at or above it.
 */
export function chooseThreshold(normal: ArrayLike<number>, anomaly: ArrayLike<number> | undefined, rule: ThresholdRule = {}): Threshold {
  checkThresholdRule(rule);
  if (rule.tpr !== undefined) {
    const a = readScores(Array.from(anomaly ?? []), 'anomaly scores').sort((x, y) => x - y);
    if (a.length === 0) throw new RangeError('Expected anomaly scores to choose a threshold by true-positive rate but received none; use a false-positive rate on normal images instead');
    const j = a.length - ceil(rule.tpr * a.length);
    return { value: nextDown(a[j]), rule: 'tpr', target: rule.tpr };
  }
  const fpr = rule.fpr ?? 0.05;
  const s = readScores(Array.from(normal), 'normal validation scores').sort((x, y) => x - y);
  if (s.length === 0) throw new RangeError('Expected scores of held-out normal validation images to choose a threshold but received none');
  const i = Math.max(0, ceil(s.length - 1 - fpr * s.length));
  return { value: s[i], rule: 'fpr', target: fpr };
}

/** Fraction of scores strictly above the threshold. */
export function fractionAbove(scores: ArrayLike<number>, threshold: number): number {
  if (scores.length === 0) return NaN;
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold) n++;
  return n / scores.length;
}

// The detector's threshold rule from its two settings (false- or true-positive rate), checked.
import { UsageError } from '../errors.js';
import type { ThresholdRule } from './threshold.js';

/** At most one of the rates; fpr in [0, 1), tpr in (0, 1]; neither: the detector's default rule. */
export function thresholdRuleOf(rates: { fpr?: number; tpr?: number }): ThresholdRule {
  const { fpr, tpr } = rates;
  if (fpr !== undefined && tpr !== undefined) throw new UsageError('Expected either --threshold-fpr or --threshold-tpr, not both');
  if (fpr !== undefined && !(fpr >= 0 && fpr < 1)) throw new UsageError(`Expected a fraction in [0, 1) for --threshold-fpr but received '${fpr}'`);
  if (tpr !== undefined && !(tpr > 0 && tpr <= 1)) throw new UsageError(`Expected a fraction in (0, 1] for --threshold-tpr but received '${tpr}'`);
  return fpr !== undefined ? { fpr } : tpr !== undefined ? { tpr } : {};
}

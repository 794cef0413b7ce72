// Area under the precision–recall curve, as sklearn's average_precision_score.
import type { NumericInput } from './inputs.js';
import { binaryCurve } from './binary-curve.js';

/**
 * Average precision with anomalies as positives: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over distinct thresholds in
 * descending order — a step sum, not a trapezoid, so it is not optimistic. A random scorer
 * scores the anomaly fraction; a perfect one 1.
 */
export function aupr(scores: NumericInput, labels: NumericInput): number {
  const c = binaryCurve(scores, labels, 'aupr');
  let ap = 0;
  let previousRecall = 0;
  for (let i = 0; i < c.thresholds.length; i++) {
    const recall = c.tps[i] / c.positives;
    const precision = c.tps[i] / (c.tps[i] + c.fps[i]);
    ap += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return ap;
}

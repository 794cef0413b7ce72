// The anomaly-detection numbers of one scoring: AUROC, AUPR and FPR at 95% TPR with anomalies as
// positives, and the ROC curve for plotting.
import { auroc, fprAtTpr, rocCurve, type RocCurve } from '../eval/roc.js';
import { aupr } from '../eval/average-precision.js';

export interface AnomalyMetrics {
  auroc: number;
  aupr: number;
  fpr_at_95_tpr: number;
  n_normal: number;
  n_anomaly: number;
  roc: RocCurve;
}

/** Scores of normal and of anomalous test images, higher = more anomalous. */
export function anomalyMetrics(normal: readonly number[], anomaly: readonly number[]): AnomalyMetrics {
  if (normal.length === 0 || anomaly.length === 0) {
    throw new RangeError(`Expected scores of at least one normal and one anomalous image but received ${normal.length} and ${anomaly.length}`);
  }
  const scores = [...normal, ...anomaly];
  const labels = [...normal.map(() => 0), ...anomaly.map(() => 1)];
  return {
    auroc: auroc(scores, labels),
    aupr: aupr(scores, labels),
    fpr_at_95_tpr: fprAtTpr(scores, labels, 0.95),
    n_normal: normal.length,
    n_anomaly: anomaly.length,
    roc: rocCurve(scores, labels),
  };
}

// The anomaly protocol for one trained head: embed the normal training images and the test sets,
// fit every scorer on the normal embeddings only, score the normal and anomalous test images, and
// project the test embeddings (with a sample of the reference classes) onto two principal axes.
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/combine.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Head } from '../losses/head.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { createScorer, scorerNeedsHead } from '../eval/scorers/registry.js';
import { embedDataset, inEvalMode, type InputNormalization } from '../inference/index.js';
import { anomalyMetrics, type AnomalyMetrics } from './anomaly-metrics.js';
import { pca } from './pca.js';
import { FlipAveraged } from './flip-averaged.js';
import type { TestTimeAugmentation } from './rotation/rotation-score.js';

export interface ScorerSpec {
  name: string;
  options?: Record<string, unknown>;
}

export interface HeadEvaluationSets {
  /** Normal training images: the scorers are fitted on their embeddings (with their labels). */
  fit: ImageDataset;
  testNormal: ImageDataset;
  testAnomaly: ImageDataset;
  /** A sample of reference-class test images, shown in the projection only. */
  reference?: ImageDataset | null;
}

export interface ScoredTest {
  score: string;
  options: Record<string, unknown>;
  /** Scores of the normal and anomalous test images, higher = more anomalous. */
  normal: number[];
  anomaly: number[];
  metrics: AnomalyMetrics;
}

export interface HeadEvaluation {
  rows: ScoredTest[];
  /** Scorers that do not apply to this head (e.g. msp without class logits), with the reason. */
  skipped: Array<{ score: string; reason: string }>;
  /** PCA coordinates of the test embeddings, by set, and the variance each axis explains. */
  projection: { normal: number[][]; anomaly: number[][]; reference: number[][]; explained: number[] };
}

export function evaluateHead(model: EmbeddingNet, head: Head, sets: HeadEvaluationSets,
  o: { scorers: ScorerSpec[]; normalization: InputNormalization; device?: Device; tta?: TestTimeAugmentation }): HeadEvaluation {
  // 'flip': every set (fit and test alike) embedded as the mean of the image's and its mirror image's embeddings.
  const net = o.tta === 'flip' ? new FlipAveraged(model) : model;
  const embed = (d: ImageDataset): Tensor => keep(embedDataset(net, d, { norm: o.normalization, device: o.device ?? 'cpu' }));
  const owned: Tensor[] = [];
  const own = (t: Tensor): Tensor => {
    owned.push(t);
    return t;
  };
  try {
    const fit = own(embed(sets.fit));
    const normal = own(embed(sets.testNormal));
    const anomaly = own(embed(sets.testAnomaly));
    const test = own(keep(cat([normal, anomaly])));
    const n = sets.testNormal.labels.length;
    const rows: ScoredTest[] = [];
    const skipped: HeadEvaluation['skipped'] = [];
    for (const spec of o.scorers) {
      if (scorerNeedsHead(spec.name) && !head.classifies) {
        skipped.push({ score: spec.name, reason: `'${head.name}' has no class logits` });
        continue;
      }
      const scorer = createScorer(spec.name, spec.options ?? {}, { head });
      try {
        const values = inEvalMode([head], () => {
          scorer.fit(fit, sets.fit.labels);
          return tidy(() => scorer.score(test).toNumbers());
        });
        const normalScores = values.slice(0, n);
        const anomalyScores = values.slice(n);
        rows.push({ score: spec.name, options: spec.options ?? {}, normal: normalScores, anomaly: anomalyScores, metrics: anomalyMetrics(normalScores, anomalyScores) });
      } finally {
        scorer.dispose();
      }
    }
    const parts = [normal, anomaly];
    if (sets.reference) parts.push(own(embed(sets.reference)));
    const projected = tidy(() => {
      const p = pca(cat(parts), 2);
      return { rows: p.coords.toArray() as number[][], explained: p.explained };
    });
    const m = sets.testAnomaly.labels.length;
    return {
      rows, skipped,
      projection: { normal: projected.rows.slice(0, n), anomaly: projected.rows.slice(n, n + m), reference: projected.rows.slice(n + m), explained: projected.explained },
    };
  } finally {
    dispose(owned);
  }
}

// A thin calculator over the retrieval metrics: k-NN once, then every requested metric.
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import { checkInt, describe } from '../tensor/checks.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys, checkSameLength, readLabels } from './inputs.js';
import { type KnnMetric, checkMetric, knnSearch } from './knn.js';
import { type RetrievalInput, mapAtR, precisionAt1, rPrecision, recallAtK } from './retrieval.js';
import { kmeans } from './kmeans.js';
import { ami, nmi } from './mutual-information.js';

/** Metric names, as pytorch-metric-learning's AccuracyCalculator spells them (plus recall_at_k). */
export const RETRIEVAL_METRICS = ['precision_at_1', 'r_precision', 'mean_average_precision_at_r', 'recall_at_k', 'NMI', 'AMI'] as const;
export type RetrievalMetric = (typeof RETRIEVAL_METRICS)[number];

export interface RetrievalCalculatorOptions {
  /** Only these metrics (default: all). */
  include?: RetrievalMetric[];
  /** All but these. */
  exclude?: RetrievalMetric[];
  /**
   * Neighbours searched: a number, or 'max_bin_count' (the largest R over the query classes —
   * what R-precision and MAP@R need). Default 'max_bin_count' (pml's default, None, searches
   * every reference). A number below the largest R makes those two metrics throw where pml
   * only warns that they are wrong.
   */
  k?: number | 'max_bin_count';
  /** K values of recall_at_k. Default [1, 2, 4, 8]. */
  recallKs?: number[];
  /** Distance for the k-NN search. Default 'cosine'. */
  metric?: KnnMetric;
  /** Seed of the k-means behind NMI and AMI. Default 0. */
  seed?: number;
}

export interface RetrievalData {
  /** [Q,D] query embeddings. */
  query: Tensor;
  queryLabels: NumericInput;
  /** [R,D] reference embeddings; omitted = the queries themselves (each excluded from its own neighbours). */
  reference?: Tensor;
  referenceLabels?: NumericInput;
}

const OPTION_KEYS = ['include', 'exclude', 'k', 'recallKs', 'metric', 'seed'] as const;

function checkNames(names: unknown, what: string): RetrievalMetric[] {
  if (!Array.isArray(names)) throw new TypeError(`Expected an array of metric names for ${what} but received ${describe(names)}`);
  for (const name of names) {
    if (!RETRIEVAL_METRICS.includes(name)) {
      throw new TypeError(`Unknown metric ${describe(name)} in ${what}: expected one of ${RETRIEVAL_METRICS.join(', ')}`);
    }
  }
  return names as RetrievalMetric[];
}

/**
 * Computes retrieval metrics for query embeddings against references, as pml's
 * AccuracyCalculator: one exact k-NN search feeds every k-NN metric; NMI and AMI cluster the
 * queries with seeded k-means (k = number of query classes). Bad options fail at construction.
 * Results are keyed by metric name; recall_at_k expands to recall_at_1, recall_at_2, ….
 */
export class RetrievalCalculator {
  readonly metrics: readonly RetrievalMetric[];
  readonly #k: number | 'max_bin_count';
  readonly #recallKs: number[];
  readonly #metric: KnnMetric;
  readonly #seed: number;

  constructor(opts: RetrievalCalculatorOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'RetrievalCalculator');
    const include = opts.include === undefined ? [...RETRIEVAL_METRICS] : checkNames(opts.include, 'include');
    const exclude = opts.exclude === undefined ? [] : checkNames(opts.exclude, 'exclude');
    this.metrics = include.filter((m) => !exclude.includes(m));
    if (this.metrics.length === 0) throw new TypeError('Expected at least one metric after include/exclude but none is left');
    this.#k = opts.k === 'max_bin_count' || opts.k === undefined ? 'max_bin_count' : checkInt(opts.k, "k (or 'max_bin_count')", 1);
    this.#recallKs = (opts.recallKs ?? [1, 2, 4, 8]).map((k) => checkInt(k, 'recallKs entry', 1));
    if (this.#recallKs.length === 0) throw new TypeError('Expected at least one K in recallKs but received []');
    this.#metric = checkMetric(opts.metric ?? 'cosine');
    this.#seed = checkInt(opts.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
  }

  compute(data: RetrievalData): Record<string, number> {
    const query = checkEmbeddings(data.query, 'query');
    const queryLabels = readLabels(data.queryLabels, 'queryLabels');
    checkSameLength(query.shape[0], queryLabels.length, 'queryLabels', 'query embedding');
    const sameSource = data.reference === undefined;
    if (sameSource && data.referenceLabels !== undefined) throw new TypeError('Expected referenceLabels only together with reference embeddings');
    const reference = sameSource ? query : checkEmbeddings(data.reference, 'reference');
    const referenceLabels = sameSource ? queryLabels : readLabels(data.referenceLabels ?? [], 'referenceLabels');
    checkSameLength(reference.shape[0], referenceLabels.length, 'referenceLabels', 'reference embedding');

    const results: Record<string, number> = {};
    const knnMetrics = this.metrics.filter((m) => m !== 'NMI' && m !== 'AMI');
    if (knnMetrics.length > 0) {
      const input = this.#knnLabels(query, reference, queryLabels, referenceLabels, sameSource);
      try {
        for (const m of knnMetrics) {
          if (m === 'precision_at_1') results[m] = precisionAt1(input);
          else if (m === 'r_precision') results[m] = rPrecision(input);
          else if (m === 'mean_average_precision_at_r') results[m] = mapAtR(input);
          else recallAtK(input, this.#recallKs).forEach((v, i) => { results[`recall_at_${this.#recallKs[i]}`] = v; });
        }
      } finally {
        (input.knnLabels as Tensor).dispose();
      }
    }
    if (this.metrics.includes('NMI') || this.metrics.includes('AMI')) {
      const classes = new Set(queryLabels).size;
      const clusters = tidy(() => {
        const result = kmeans(query, classes, { seed: this.#seed });
        return result.assignments.toNumbers();
      });
      if (this.metrics.includes('NMI')) results.NMI = nmi(queryLabels, clusters);
      if (this.metrics.includes('AMI')) results.AMI = ami(queryLabels, clusters);
    }
    return results;
  }

  #knnLabels(query: Tensor, reference: Tensor, queryLabels: number[], referenceLabels: number[], sameSource: boolean): RetrievalInput {
    const counts = new Map<number, number>();
    for (const label of referenceLabels) counts.set(label, (counts.get(label) ?? 0) + 1);
    // pml's max_bin_count: the largest R over the query classes, not over all reference classes.
    const maxBin = Math.max(0, ...new Set(queryLabels.map((l) => counts.get(l) ?? 0))) - (sameSource ? 1 : 0);
    const wanted = Math.max(this.#k === 'max_bin_count' ? maxBin : this.#k, this.metrics.includes('recall_at_k') ? Math.max(...this.#recallKs) : 1);
    const available = reference.shape[0] - (sameSource ? 1 : 0);
    const k = Math.max(1, Math.min(wanted, available));
    const knnLabels = tidy(() => {
      const { indices } = knnSearch(query, reference, { k, metric: this.#metric, excludeSelf: sameSource });
      const labels = tensor(referenceLabels, { dtype: 'int64', device: indices.device as Device });
      return labels.indexSelect(0, indices.flatten()).reshape(indices.shape);
    });
    return { knnLabels, queryLabels, referenceLabels, sameSource };
  }
}

// Retrieval metrics over k-NN labels, as pytorch-metric-learning's AccuracyCalculator defines them.
import { Tensor } from '../tensor/tensor.js';
import { tensor, arange } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import { checkInt, describe } from '../tensor/checks.js';
import { type NumericInput, checkSameLength, readLabels } from './inputs.js';

/** The neighbours' labels of each query, and what is needed to know how many are relevant. */
export interface RetrievalInput {
  /** [Q,K] labels of each query's K nearest references, nearest first (tensor or nested arrays). */
  knnLabels: Tensor | number[][];
  /** [Q] label of each query. */
  queryLabels: NumericInput;
  /** Labels of all references: R for a query = references sharing its label. */
  referenceLabels: NumericInput;
  /** The queries are among the references (and were excluded from their own neighbours): R − 1. */
  sameSource?: boolean;
}

interface Prepared {
  /** [Q',K] float64, 1 where the neighbour's label equals the query's; only non-lone queries. */
  same: Tensor;
  /** [Q'] R per kept query. */
  r: Tensor;
  /** Largest R over kept queries. */
  maxR: number;
  /** Queries kept (those with R ≥ 1). */
  count: number;
}

/**
 * Drops "lone" queries — whose label has no other reference, so no neighbour can be right — as
 * pytorch-metric-learning does before every metric. Returns null when none is left.
 */
function prepare(input: RetrievalInput): Prepared | null {
  const { knnLabels, sameSource = false } = input;
  const queryLabels = readLabels(input.queryLabels, 'queryLabels');
  const referenceLabels = readLabels(input.referenceLabels, 'referenceLabels');
  const knn = knnLabels instanceof Tensor ? knnLabels.long() : tensor(knnLabels as number[][], { dtype: 'int64' });
  if (knn.ndim !== 2) {
    const shape = knn.shape;
    knn.dispose();
    throw new TypeError(`Expected knnLabels of shape [Q,K] but received shape [${shape.join(',')}]`);
  }
  const q = knn.shape[0];
  try {
    checkSameLength(q, queryLabels.length, 'queryLabels', 'row of knnLabels');
    const counts = new Map<number, number>();
    for (const label of referenceLabels) counts.set(label, (counts.get(label) ?? 0) + 1);
    const r = queryLabels.map((label) => (counts.get(label) ?? 0) - (sameSource ? 1 : 0));
    const kept = r.map((_, i) => i).filter((i) => r[i] >= 1);
    if (kept.length === 0) return null;
    return tidy(() => {
      const device = knn.device as Device;
      const rows = tensor(kept, { dtype: 'int64', device });
      const labels = tensor(kept.map((i) => queryLabels[i]), { dtype: 'int64', device });
      const same = knn.indexSelect(0, rows).eq(labels.unsqueeze(1)).to('float64');
      const keptR = kept.map((i) => r[i]);
      const maxR = keptR.reduce((a, b) => Math.max(a, b), 0);
      return { same, r: tensor(keptR, { dtype: 'float64', device }), maxR, count: kept.length };
    });
  } finally {
    if (knn !== knnLabels) knn.dispose();
  }
}

function needColumns(p: Prepared, needed: number, metric: string): void {
  const k = p.same.shape[1];
  if (k < needed) {
    throw new RangeError(`${metric} needs at least ${needed} neighbours per query (the largest R) but knnLabels has ${k}: search with k ≥ ${needed} (k = 'max_bin_count')`);
  }
}

/** Runs fn on the prepared input, freeing it after; lone-only inputs score 0 (as pml). */
function withPrepared(input: RetrievalInput, fn: (p: Prepared) => number): number {
  const p = prepare(input);
  if (p === null) return 0;
  try {
    return tidy(() => fn(p));
  } finally {
    p.same.dispose();
    p.r.dispose();
  }
}

/** Fraction of queries whose nearest reference has their label. */
export function precisionAt1(input: RetrievalInput): number {
  return withPrepared(input, (p) => p.same.select(1, 0).mean().item());
}

/** [Q',K] 1 in the first R columns of each row (pml's relevance mask). */
function relevanceMask(p: Prepared): Tensor {
  const k = p.same.shape[1];
  return arange(0, k, 1, { dtype: 'float64', device: p.same.device as Device }).unsqueeze(0).lt(p.r.unsqueeze(1)).to('float64');
}

/** Mean over queries of (same-label references among the first R neighbours) / R. */
export function rPrecision(input: RetrievalInput): number {
  return withPrepared(input, (p) => {
    needColumns(p, p.maxR, 'rPrecision');
    const mask = relevanceMask(p);
    return p.same.mul(mask).sum(1).div(p.r).mean().item();
  });
}

/**
 * Mean average precision at R: for each query, (1/R) Σᵢ≤R P(i)·rel(i), where P(i) is the
 * precision of the first i neighbours and rel(i) is 1 when neighbour i has the query's label.
 * Unlike plain MAP it divides by R, so missing relevant items in the first R always costs.
 */
export function mapAtR(input: RetrievalInput): number {
  return withPrepared(input, (p) => {
    needColumns(p, p.maxR, 'mapAtR');
    const k = p.same.shape[1];
    const mask = relevanceMask(p);
    const hits = p.same.mul(mask);
    const ranks = arange(1, k + 1, 1, { dtype: 'float64', device: p.same.device as Device }).unsqueeze(0);
    const precisionAtHits = hits.cumsum(1).mul(hits).div(ranks);
    return precisionAtHits.sum(1).div(p.r).mean().item();
  });
}

/**
 * Recall@K as in the deep-metric-learning literature (Song et al. 2016, CUB/Cars/SOP tables):
 * the fraction of queries with at least one same-label reference among their first K
 * neighbours. pytorch-metric-learning has no such metric; lone queries are dropped as for its
 * others. Returns one value per K, in the order given.
 */
export function recallAtK(input: RetrievalInput, ks: number[]): number[] {
  if (!Array.isArray(ks) || ks.length === 0) throw new TypeError(`Expected a non-empty array of K values for recallAtK but received ${describe(ks)}`);
  for (const k of ks) checkInt(k, 'K of recallAtK', 1);
  const p = prepare(input);
  if (p === null) return ks.map(() => 0);
  try {
    needColumns(p, Math.max(...ks), 'recallAtK');
    return tidy(() => ks.map((k) => p.same.narrow(1, 0, k).max(1).mean().item()));
  } finally {
    p.same.dispose();
    p.r.dispose();
  }
}

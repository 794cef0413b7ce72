// Mutual-information scores between two labelings: NMI and AMI, as sklearn computes them.
import { type NumericInput, checkSameLength, readLabels } from './inputs.js';
import { logGamma } from './log-gamma.js';

/** Contingency counts of two labelings: rows = classes of a, columns = classes of b. */
interface Contingency {
  table: number[][];
  rowSums: number[];
  colSums: number[];
  n: number;
}

function contingency(a: number[], b: number[]): Contingency {
  const rowIndex = new Map<number, number>();
  const colIndex = new Map<number, number>();
  for (const v of a) if (!rowIndex.has(v)) rowIndex.set(v, rowIndex.size);
  for (const v of b) if (!colIndex.has(v)) colIndex.set(v, colIndex.size);
  const table = Array.from({ length: rowIndex.size }, () => new Array<number>(colIndex.size).fill(0));
  for (let i = 0; i < a.length; i++) table[rowIndex.get(a[i])!][colIndex.get(b[i])!]++;
  const rowSums = table.map((row) => row.reduce((s, v) => s + v, 0));
  const colSums = table[0].map((_, j) => table.reduce((s, row) => s + row[j], 0));
  return { table, rowSums, colSums, n: a.length };
}

function entropy(counts: number[], n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

function mutualInformation(c: Contingency): number {
  let mi = 0;
  for (let i = 0; i < c.table.length; i++) {
    for (let j = 0; j < c.colSums.length; j++) {
      const nij = c.table[i][j];
      if (nij > 0) mi += (nij / c.n) * Math.log((c.n * nij) / (c.rowSums[i] * c.colSums[j]));
    }
  }
  return Math.max(mi, 0);
}

/**
 * Expected mutual information of two random labelings with these marginals (Vinh, Epps & Bailey
 * 2010): a sum of hypergeometric probabilities, in log space to avoid overflow, as sklearn's
 * expected_mutual_information.
 */
function expectedMutualInformation(c: Contingency): number {
  const { rowSums: a, colSums: b, n } = c;
  const lgN = logGamma(n + 1);
  let emi = 0;
  for (const ai of a) {
    for (const bj of b) {
      const fixed = logGamma(ai + 1) + logGamma(bj + 1) + logGamma(n - ai + 1) + logGamma(n - bj + 1) - lgN;
      for (let nij = Math.max(1, ai + bj - n); nij <= Math.min(ai, bj); nij++) {
        const logP = fixed - logGamma(nij + 1) - logGamma(ai - nij + 1) - logGamma(bj - nij + 1) - logGamma(n - ai - bj + nij + 1);
        emi += (nij / n) * Math.log((n * nij) / (ai * bj)) * Math.exp(logP);
      }
    }
  }
  return emi;
}

function readPair(labelsTrue: NumericInput, labelsPred: NumericInput): Contingency | 'trivial' {
  const a = readLabels(labelsTrue, 'labelsTrue');
  const b = readLabels(labelsPred, 'labelsPred');
  checkSameLength(a.length, b.length, 'labelsPred', 'entry of labelsTrue');
  if (a.length === 0) throw new TypeError('Expected at least one label but received none');
  const c = contingency(a, b);
  // One class on both sides (or identical single clusters) is a perfect match by convention (sklearn).
  if (c.rowSums.length === 1 && c.colSums.length === 1) return 'trivial';
  return c;
}

/**
 * Normalised mutual information with the arithmetic mean of the entropies (sklearn's default
 * average_method): MI / ((H(true) + H(pred)) / 2). 1 for identical partitions up to renaming.
 */
export function nmi(labelsTrue: NumericInput, labelsPred: NumericInput): number {
  const c = readPair(labelsTrue, labelsPred);
  if (c === 'trivial') return 1;
  const mi = mutualInformation(c);
  if (mi === 0) return 0;
  const normalizer = (entropy(c.rowSums, c.n) + entropy(c.colSums, c.n)) / 2;
  return mi / Math.max(normalizer, Number.EPSILON);
}

/**
 * Adjusted mutual information (arithmetic normalisation, as sklearn's default):
 * (MI − E[MI]) / (mean(H(true), H(pred)) − E[MI]). 0 in expectation for random labelings,
 * 1 for identical partitions; can be negative.
 */
export function ami(labelsTrue: NumericInput, labelsPred: NumericInput): number {
  const c = readPair(labelsTrue, labelsPred);
  if (c === 'trivial') return 1;
  const mi = mutualInformation(c);
  const emi = expectedMutualInformation(c);
  const normalizer = (entropy(c.rowSums, c.n) + entropy(c.colSums, c.n)) / 2;
  let denominator = normalizer - emi;
  // Same guard as sklearn: keep the sign, never divide by (almost) zero.
  denominator = denominator < 0 ? Math.min(denominator, -Number.EPSILON) : Math.max(denominator, Number.EPSILON);
  return (mi - emi) / denominator;
}

/** Exposed for tests against sklearn's published intermediate values. */
export const mutualInformationParts = {
  mutualInformation: (a: NumericInput, b: NumericInput): number => {
    const c = readPair(a, b);
    return c === 'trivial' ? 0 : mutualInformation(c);
  },
  expectedMutualInformation: (a: NumericInput, b: NumericInput): number => {
    const c = readPair(a, b);
    return c === 'trivial' ? 0 : expectedMutualInformation(c);
  },
};

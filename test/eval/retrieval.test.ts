// Retrieval metrics (pytorch-metric-learning's definitions) on a worked example, and the calculator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import { knnSearch, mapAtR, precisionAt1, rPrecision, recallAtK, RetrievalCalculator, type RetrievalInput } from '../../src/eval/index.js';
import { assertClose } from '../helpers.js';

// References: four of class 0, three of class 1, two of class 3 (none of class 2).
const referenceLabels = [0, 0, 0, 0, 1, 1, 1, 3, 3];
// Each row: labels of a query's 5 nearest references, nearest first.
const worked: RetrievalInput = {
  queryLabels: [0, 1, 2, 3],
  knnLabels: [
    [0, 1, 0, 0, 3], // R = 4, relevance [1,0,1,1] in the first R
    [1, 1, 0, 1, 0], // R = 3, relevance [1,1,0]
    [3, 3, 0, 1, 1], // class 2 has no reference: a "lone" query, left out of every metric
    [0, 3, 3, 1, 1], // R = 2, relevance [0,1]
  ],
  referenceLabels,
};

test('MAP@R of the worked example', () => {
  // Query 0 (pml docs example): R = 4, relevance [1,0,1,1] → (1/R)·Σ P(i)·rel(i)
  //   = (1/4)·(1/1 + 0 + 2/3 + 3/4) = 0.6041…
  // Query 1: R = 3, relevance [1,1,0] → (1/3)·(1/1 + 2/2) = 2/3
  // Query 3: R = 2, relevance [0,1] → (1/2)·(0 + 1/2) = 1/4
  // Query 2 is lone (R = 0) and excluded, so the mean is over 3 queries.
  const q0 = (1 + 2 / 3 + 3 / 4) / 4;
  assertClose(mapAtR(worked), (q0 + 2 / 3 + 1 / 4) / 3, { atol: 1e-12, rtol: 0 });
  assertClose(mapAtR({ ...worked, queryLabels: [0], knnLabels: [[0, 1, 0, 0, 3]] }), q0, { atol: 1e-12, rtol: 0 });
});

test('R-precision and precision@1 of the worked example', () => {
  // R-precision: same-label among the first R: 3/4, 2/3, 1/2.
  assertClose(rPrecision(worked), (3 / 4 + 2 / 3 + 1 / 2) / 3, { atol: 1e-12, rtol: 0 });
  // Nearest neighbour right for queries 0 and 1, wrong for 3.
  assertClose(precisionAt1(worked), 2 / 3, { atol: 1e-12, rtol: 0 });
});

test('Recall@K: a same-label reference among the first K', () => {
  // Query 3's first hit is at rank 2.
  const [r1, r2, r4] = recallAtK(worked, [1, 2, 4]);
  assertClose(r1, 2 / 3, { atol: 1e-12, rtol: 0 });
  assert.equal(r2, 1);
  assert.equal(r4, 1);
  assert.throws(() => recallAtK(worked, [8]), /recallAtK needs at least 8 neighbours per query .* knnLabels has 5/);
  assert.throws(() => recallAtK(worked, []), /Expected a non-empty array of K values/);
});

test('sameSource lowers R by one (the query itself is not among its neighbours)', () => {
  // Query of class 1 drawn from the references: R = 3 − 1 = 2, relevance [1,0] → MAP@R = ½·1.
  const input: RetrievalInput = { queryLabels: [1], knnLabels: [[1, 0, 1]], referenceLabels, sameSource: true };
  assert.equal(rPrecision(input), 0.5);
  assert.equal(mapAtR(input), 0.5);
  // A class with a single member is lone when it is its own source.
  assert.equal(precisionAt1({ queryLabels: [5], knnLabels: [[0]], referenceLabels: [0, 5], sameSource: true }), 0);
});

test('retrieval metrics take tensors, free what they make, and need K ≥ R', () => {
  const base = liveTensors();
  tidy(() => {
    const input: RetrievalInput = {
      ...worked,
      knnLabels: tensor(worked.knnLabels as number[][], { dtype: 'int64' }),
      queryLabels: tensor(worked.queryLabels as number[], { dtype: 'int64' }),
    };
    assertClose(mapAtR(input), mapAtR(worked), { atol: 1e-12, rtol: 0 });
  });
  assert.equal(liveTensors(), base);
  const short = { ...worked, knnLabels: (worked.knnLabels as number[][]).map((r) => r.slice(0, 3)) };
  assert.throws(() => mapAtR(short), /mapAtR needs at least 4 neighbours per query \(the largest R\) but knnLabels has 3/);
  assert.throws(() => rPrecision({ ...worked, queryLabels: [0, 1] }), /Expected queryLabels of length 4 \(one per row of knnLabels\) but received 2/);
});

test('RetrievalCalculator rejects unknown metric names and options at construction', () => {
  assert.throws(() => new RetrievalCalculator({ include: ['precision_at_1', 'map_at_r' as never] }), /Unknown metric "map_at_r" in include: expected one of precision_at_1, r_precision/);
  assert.throws(() => new RetrievalCalculator({ exclude: ['nmi' as never] }), /Unknown metric "nmi" in exclude/);
  assert.throws(() => new RetrievalCalculator({ include: ['NMI'], exclude: ['NMI'] }), /Expected at least one metric/);
  assert.throws(() => new RetrievalCalculator({ metrc: 'cosine' } as never), /Unknown option "metrc" for RetrievalCalculator/);
  assert.throws(() => new RetrievalCalculator({ k: 0 }), /Expected an integer ≥ 1 for k/);
  assert.throws(() => new RetrievalCalculator({ metric: 'manhattan' as never }), /Expected 'cosine' or 'euclidean' for metric/);
});

test('RetrievalCalculator agrees with the metric functions on a brute-force k-NN', () => {
  manualSeed(11);
  const base = liveTensors();
  tidy(() => {
    // Three noisy clusters of 20, 15 and 10 points in 8-d.
    const centres = randn([3, 8]).mul(2);
    const sizes = [20, 15, 10];
    const x = cat(sizes.map((n, c) => randn([n, 8]).add(centres.narrow(0, c, 1))), 0);
    const labels = sizes.flatMap((n, c) => new Array<number>(n).fill(c));
    const calc = new RetrievalCalculator({ recallKs: [1, 5] });
    const result = calc.compute({ query: x, queryLabels: labels });
    assert.deepEqual(Object.keys(result).sort(), ['AMI', 'NMI', 'mean_average_precision_at_r', 'precision_at_1', 'r_precision', 'recall_at_1', 'recall_at_5']);
    // Same source: each point is excluded from its own neighbours; k = largest class − 1 = 19.
    const { indices } = knnSearch(x, x, { k: 19, metric: 'cosine', excludeSelf: true });
    const knnLabels = (indices.toArray() as number[][]).map((row) => row.map((i) => labels[i]));
    const input: RetrievalInput = { knnLabels, queryLabels: labels, referenceLabels: labels, sameSource: true };
    assertClose(result.precision_at_1, precisionAt1(input), { atol: 1e-12, rtol: 0 });
    assertClose(result.r_precision, rPrecision(input), { atol: 1e-12, rtol: 0 });
    assertClose(result.mean_average_precision_at_r, mapAtR(input), { atol: 1e-12, rtol: 0 });
    assert.deepEqual([result.recall_at_1, result.recall_at_5], recallAtK(input, [1, 5]));
    for (const key of ['NMI', 'AMI']) assert.ok(result[key] > 0.5 && result[key] <= 1, `${key} = ${result[key]}`);
    // Separate references: query rows are not removed from their neighbours, R is the full count.
    const only = new RetrievalCalculator({ include: ['precision_at_1'] }).compute({ query: x, queryLabels: labels, reference: x, referenceLabels: labels });
    assert.deepEqual(Object.keys(only), ['precision_at_1']);
    assert.equal(only.precision_at_1, 1); // every point finds itself first
    assert.throws(() => calc.compute({ query: x, queryLabels: labels.slice(1) }), /Expected queryLabels of length 45 \(one per query embedding\) but received 44/);
  });
  assert.equal(liveTensors(), base);
});

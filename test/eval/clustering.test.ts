// k-means determinism and quality; NMI and AMI against sklearn's published values and a numpy reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import { ami, kmeans, nmi } from '../../src/eval/index.js';
import { mutualInformationParts } from '../../src/eval/mutual-information.js';
import { logGamma } from '../../src/eval/log-gamma.js';
import { assertClose } from '../helpers.js';

// sklearn's test_adjusted_mutual_info_score case.
const a17 = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3];
const b17 = [1, 1, 1, 1, 2, 1, 2, 2, 2, 2, 3, 1, 3, 3, 3, 2, 2];

test('MI, expected MI and AMI match sklearn\'s published test values', () => {
  // sklearn asserts mi ≈ 0.41022, emi ≈ 0.15042, ami ≈ 0.27821 (5 decimals), ami(×110) ≈ 0.38 (2).
  assertClose(mutualInformationParts.mutualInformation(a17, b17), 0.41022, { atol: 5e-6, rtol: 0 });
  assertClose(mutualInformationParts.expectedMutualInformation(a17, b17), 0.15042, { atol: 5e-6, rtol: 0 });
  assertClose(ami(a17, b17), 0.27821, { atol: 5e-6, rtol: 0 });
  const a110 = Array.from({ length: 110 }, () => a17).flat();
  const b110 = Array.from({ length: 110 }, () => b17).flat();
  assertClose(ami(a110, b110), 0.38, { atol: 5e-3, rtol: 0 });
  assert.equal(ami([1, 1, 2, 2], [2, 2, 3, 3]), 1);
});

test('NMI and AMI match scripts/eval_mutual_info_reference.py (numpy, arithmetic normalisation)', () => {
  // Values printed by the script; it recomputes MI, EMI and the entropies from their definitions.
  assertClose(nmi(a17, b17), 0.3783499278720409, { atol: 1e-12, rtol: 0 });
  assertClose(ami(a17, b17), 0.2782096465726973, { atol: 1e-12, rtol: 0 });
  const a110 = Array.from({ length: 110 }, () => a17).flat();
  const b110 = Array.from({ length: 110 }, () => b17).flat();
  assertClose(nmi(a110, b110), 0.3783499278720409, { atol: 1e-12, rtol: 0 });
  assertClose(mutualInformationParts.expectedMutualInformation(a110, b110), 0.001071160343686863, { atol: 1e-12, rtol: 1e-9 });
  assertClose(ami(a110, b110), 0.3777351644367495, { atol: 1e-10, rtol: 0 });
  const u = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
  const v = [0, 0, 1, 1, 1, 1, 2, 2, 3, 3];
  assertClose(nmi(u, v), 0.7137031975798809, { atol: 1e-12, rtol: 0 });
  assertClose(ami(u, v), 0.553541180677413, { atol: 1e-12, rtol: 0 });
});

test('NMI by hand on a small case, and the conventions at the edges', () => {
  // U = [0,0,1,1], V = [0,0,0,1]: contingency [[2,0],[1,1]], N = 4.
  // MI = ½·ln(4·2/(2·3)) + ¼·ln(4·1/(2·3)) + ¼·ln(4·1/(2·1)) = ½ln(4/3) + ¼ln(2/3) + ¼ln 2.
  // H(U) = ln 2; H(V) = −(¾ln¾ + ¼ln¼). NMI = MI / ((H(U) + H(V)) / 2).
  const mi = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2);
  const hv = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  assertClose(nmi([0, 0, 1, 1], [0, 0, 0, 1]), mi / ((Math.log(2) + hv) / 2), { atol: 1e-15, rtol: 0 });
  // Renaming clusters changes nothing; a single cluster carries no information.
  assert.equal(nmi([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]), 1);
  assert.equal(nmi([0, 0, 1, 1], [7, 7, 7, 7]), 0);
  assert.equal(ami([0, 0, 1, 1], [7, 7, 7, 7]), 0);
  assert.equal(nmi([4, 4, 4], [1, 1, 1]), 1);
  assert.throws(() => nmi([0, 1], [0]), /Expected labelsPred of length 2 \(one per entry of labelsTrue\) but received 1/);
  assert.throws(() => ami([0, 0.5], [0, 1]), /Expected integer class labels for labelsTrue but received 0.5 at index 1/);
});

test('logGamma matches log-factorials and Γ(½) = √π', () => {
  let logFactorial = 0;
  for (let n = 1; n <= 30; n++) {
    logFactorial += Math.log(n);
    assertClose(logGamma(n + 1), logFactorial, { atol: 1e-12, rtol: 1e-13 });
  }
  assertClose(logGamma(0.5), 0.5 * Math.log(Math.PI), { atol: 1e-14, rtol: 0 });
  assert.throws(() => logGamma(0), /Expected x > 0 for logGamma/);
});

test('kmeans is deterministic for a seed and recovers well-separated clusters', () => {
  manualSeed(5);
  const base = liveTensors();
  tidy(() => {
    const centres = tensor([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]]);
    const x = cat([0, 1, 2, 3].map((c) => randn([25, 3]).add(centres.narrow(0, c, 1))), 0);
    const truth = [0, 1, 2, 3].flatMap((c) => new Array<number>(25).fill(c));
    const first = kmeans(x, 4, { seed: 42 });
    const again = kmeans(x, 4, { seed: 42 });
    assert.deepEqual(first.assignments.toNumbers(), again.assignments.toNumbers());
    assert.deepEqual(first.centroids.toNumbers(), again.centroids.toNumbers());
    assert.equal(first.inertia, again.inertia);
    assert.equal(first.assignments.dtype, 'int64');
    assert.deepEqual(first.centroids.shape, [4, 3]);
    assert.equal(nmi(truth, first.assignments.toNumbers()), 1);
    // Inertia is the sum of squared distances to the assigned centres.
    const assigned = first.centroids.indexSelect(0, first.assignments);
    assertClose(first.inertia, x.to('float64').sub(assigned).square().sum().item(), { rtol: 1e-9 });
    // More restarts never give a worse inertia than the first of them.
    const best = kmeans(x, 4, { seed: 42, nInit: 4 });
    assert.ok(best.inertia <= first.inertia + 1e-9);
  });
  assert.equal(liveTensors(), base);
});

test('kmeans handles duplicates and checks its arguments', () => {
  const base = liveTensors();
  tidy(() => {
    // Only two distinct points but k = 3: one cluster must stay empty or duplicate, without NaN.
    const x = tensor([[0, 0], [0, 0], [1, 1], [1, 1]]);
    const r = kmeans(x, 3, { seed: 1 });
    assert.ok(r.centroids.toNumbers().every(Number.isFinite));
    assertClose(r.inertia, 0, { atol: 1e-12 });
    assert.throws(() => kmeans(x, 5), /Expected an integer between 1 and 4 for k of kmeans \(at most the 4 rows\) but received 5/);
    assert.throws(() => kmeans(x, 2, { iters: 3 } as never), /Unknown option "iters" for kmeans/);
  });
  assert.equal(liveTensors(), base);
});

// Anomaly metrics on hand-computed cases: AUROC, ROC points, AUPR (average precision), FPR@95%TPR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, tensor, tidy } from '../../src/index.js';
import { aupr, auroc, fprAtTpr, rocCurve } from '../../src/eval/index.js';
import { assertClose } from '../helpers.js';
import { Random } from '../../src/data/loading/random.js';

// The example of sklearn's roc_auc_score / roc_curve / average_precision_score docs.
const scores = [0.1, 0.4, 0.35, 0.8];
const labels = [0, 0, 1, 1];

test('AUROC of a known ranking: 3 of the 4 anomaly-normal pairs are ordered correctly', () => {
  // Pairs (anomaly, normal): (0.35, 0.1) ✓, (0.35, 0.4) ✗, (0.8, 0.1) ✓, (0.8, 0.4) ✓ → 3/4.
  assert.equal(auroc(scores, labels), 0.75);
  assert.equal(auroc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]), 1);
  assert.equal(auroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]), 0);
});

test('AUROC counts ties as one half (average ranks), as sklearn', () => {
  assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  // Anomaly 0.5 vs normals 0.2 (1) and 0.5 (½); anomaly 0.9 vs both (2): 3.5 / 4.
  assert.equal(auroc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1]), 0.875);
  // Average ranks: scores 1,2,2,2,3 → ranks 1, 3, 3, 3, 5; anomalies at 3 and 5: U = 8 − 3 = 5 of 2·3 = 6 pairs.
  assert.equal(auroc([1, 2, 2, 2, 3], [0, 1, 0, 0, 1]), 5 / 6);
});

test('AUROC accepts tensors and booleans and equals the trapezoid area under rocCurve', () => {
  const rng = new Random(7);
  const random = (): number => rng.nextFloat();
  // Scores rounded to 1 decimal so that many are tied.
  const s = Array.from({ length: 300 }, () => Math.round(random() * 10) / 10);
  const y = s.map((v) => (random() < 0.3 + 0.4 * v ? 1 : 0));
  const { fpr, tpr } = rocCurve(s, y, { dropIntermediate: false });
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  assertClose(auroc(s, y), area, { atol: 1e-12, rtol: 0 });
  const base = liveTensors();
  tidy(() => assertClose(auroc(tensor(s, { dtype: 'float64' }), tensor(y.map(Boolean))), area, { atol: 1e-12, rtol: 0 }));
  assert.equal(liveTensors(), base);
});

test('AUROC needs both classes, finite scores and 0/1 labels of matching length', () => {
  assert.throws(() => auroc([0.1, 0.2], [0, 0]), /auroc needs both classes, but all 2 labels are 0 \(normal\)/);
  assert.throws(() => auroc([0.1, 0.2], [1, 1]), /all 2 labels are 1 \(anomaly\)/);
  assert.throws(() => auroc([0.1, NaN], [0, 1]), /Expected finite numbers for scores but received NaN at index 1/);
  assert.throws(() => auroc([0.1, 0.2], [0, 2]), /Expected 0 \(normal\) or 1 \(anomaly\) for labels but received 2 at index 1/);
  assert.throws(() => auroc([0.1, 0.2, 0.3], [0, 1]), /Expected labels of length 3 \(one per score\) but received 2/);
});

test('rocCurve gives sklearn\'s documented points', () => {
  // sklearn docs: fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds [inf, .8, .4, .35, .1].
  const roc = rocCurve(scores, labels);
  assert.deepEqual(roc.fpr, [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual(roc.tpr, [0, 0.5, 0.5, 1, 1]);
  assert.deepEqual(roc.thresholds, [Infinity, 0.8, 0.4, 0.35, 0.1]);
});

test('rocCurve drops collinear points unless asked not to', () => {
  // Descending: 0.9(1) 0.8(1) 0.7(1) 0.2(0) 0.1(0): tps 1,2,3,3,3; fps 0,0,0,1,2. The points at
  // 0.8 and 0.2 lie on straight segments (second differences 0), so they are dropped.
  const s = [0.9, 0.8, 0.7, 0.2, 0.1];
  const y = [1, 1, 1, 0, 0];
  const all = rocCurve(s, y, { dropIntermediate: false });
  assert.deepEqual(all.thresholds, [Infinity, 0.9, 0.8, 0.7, 0.2, 0.1]);
  const dropped = rocCurve(s, y);
  assert.deepEqual(dropped.thresholds, [Infinity, 0.9, 0.7, 0.1]);
  assert.deepEqual(dropped.tpr, [0, 1 / 3, 1, 1]);
  assert.deepEqual(dropped.fpr, [0, 0, 0, 1]);
});

test('AUPR is sklearn\'s average precision (a step sum over thresholds)', () => {
  // Descending: 0.8(1): P 1, R ½ · 0.4(0): P ½, R ½ · 0.35(1): P ⅔, R 1 · 0.1(0): P ½, R 1.
  // AP = ½·1 + 0·½ + ½·⅔ + 0·½ = 5/6 (sklearn docs: 0.83).
  assertClose(aupr(scores, labels), 5 / 6, { atol: 1e-15, rtol: 0 });
  assert.equal(aupr([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]), 1);
  // All tied: one threshold, P = ½, R = 1 → AP = ½ (the anomaly fraction).
  assert.equal(aupr([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1]), 0.5);
  // Ties inside the ranking: 0.9(1) then {0.5(1), 0.5(0)} then 0.1(0): ½·1 + ½·⅔ = ⅚.
  assertClose(aupr([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]), 5 / 6, { atol: 1e-15, rtol: 0 });
  assert.throws(() => aupr([0.1, 0.2], [0, 0]), /aupr needs both classes/);
});

test('FPR at 95% TPR on a hand-built case', () => {
  // 20 anomalies scored 1…20; normals 0.5, 1.5, 2.5, 25. Flagging 19 of 20 anomalies (TPR 0.95)
  // needs threshold 2; normals ≥ 2 are 2.5 and 25 → FPR 2/4.
  const s = [...Array.from({ length: 20 }, (_, i) => i + 1), 0.5, 1.5, 2.5, 25];
  const y = [...new Array<number>(20).fill(1), 0, 0, 0, 0];
  assert.equal(fprAtTpr(s, y), 0.5);
  assert.equal(fprAtTpr(s, y, 0.95), 0.5);
  // TPR 1 needs threshold 1: normals 1.5, 2.5, 25 → 3/4. TPR 0.05 (1 anomaly): only 25 → 1/4.
  assert.equal(fprAtTpr(s, y, 1), 0.75);
  assert.equal(fprAtTpr(s, y, 0.05), 0.25);
  // Perfect separation: no normal above any anomaly.
  assert.equal(fprAtTpr([5, 6, 7, 1, 2], [1, 1, 1, 0, 0]), 0);
  assert.throws(() => fprAtTpr(s, y, 0), /Expected a target TPR in \(0, 1\] but received 0/);
  assert.throws(() => fprAtTpr([1, 2], [1, 1]), /fprAtTpr needs both classes/);
});

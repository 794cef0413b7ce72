// Accuracy, per-class accuracy and the confusion matrix on small hand-counted cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, tensor, tidy } from '../../src/index.js';
import { accuracy, confusionMatrix, perClassAccuracy } from '../../src/eval/index.js';

const predicted = [0, 1, 1, 2, 2, 2, 0];
const truth = [0, 1, 2, 2, 2, 0, 0];

test('accuracy counts exact matches', () => {
  // Matches at 0, 1, 3, 4, 6 → 5/7.
  assert.equal(accuracy(predicted, truth), 5 / 7);
  const base = liveTensors();
  tidy(() => {
    assert.equal(accuracy(tensor(predicted, { dtype: 'int64' }), tensor(truth, { dtype: 'int64' })), 5 / 7);
    // Logits: argmax per row is the prediction.
    const logits = tensor([[2, 1, 0], [0, 3, 1], [0, 0, 5]]);
    assert.equal(accuracy(logits, [0, 1, 1]), 2 / 3);
  });
  assert.equal(liveTensors(), base);
});

test('confusionMatrix has true classes as rows and predictions as columns', () => {
  // Class 0 (samples 0, 5, 6) → predicted 0, 2, 0; class 1 (sample 1) → 1; class 2 (2, 3, 4) → 1, 2, 2.
  assert.deepEqual(confusionMatrix(predicted, truth), [
    [2, 0, 1],
    [0, 1, 0],
    [0, 1, 2],
  ]);
  assert.deepEqual(confusionMatrix([0], [0], 3), [[1, 0, 0], [0, 0, 0], [0, 0, 0]]);
});

test('perClassAccuracy is the recall of each true class, NaN when a class is absent', () => {
  // Class 0: samples 0, 5, 6 → right at 0 and 6 (2/3); class 1: 1/1; class 2: samples 2, 3, 4 → 2/3.
  assert.deepEqual(perClassAccuracy(predicted, truth), [2 / 3, 1, 2 / 3]);
  const withEmpty = perClassAccuracy([0, 1], [0, 1], 3);
  assert.deepEqual(withEmpty.slice(0, 2), [1, 1]);
  assert.ok(Number.isNaN(withEmpty[2]));
});

test('classification metrics check their arguments', () => {
  assert.throws(() => accuracy([0, 1, 2], [0, 1]), /Expected labels of length 3 \(one per prediction\) but received 2/);
  assert.throws(() => accuracy([], []), /Expected at least one prediction/);
  assert.throws(() => accuracy([0.5], [0]), /Expected integer class labels for predictions but received 0.5 at index 0/);
  assert.throws(() => confusionMatrix([0, -1], [0, 0]), /Expected class indices ≥ 0 but received -1/);
  assert.throws(() => confusionMatrix([0, 3], [0, 0], 2), /Expected an integer ≥ 4 for numClasses/);
});

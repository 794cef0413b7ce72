// Classification metrics: accuracy, per-class accuracy and the confusion matrix.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkInt } from '../tensor/checks.js';
import { type NumericInput, checkSameLength, readLabels } from './inputs.js';

/** Predicted classes: indices [N] (tensor or array), or logits [N,C] (argmax is taken). */
export type Predictions = NumericInput;

function readPredictions(predictions: Predictions): number[] {
  if (predictions instanceof Tensor && predictions.ndim === 2) {
    return tidy(() => predictions.argmax(1).toNumbers());
  }
  return readLabels(predictions, 'predictions');
}

function readPair(predictions: Predictions, labels: NumericInput): [number[], number[]] {
  const p = readPredictions(predictions);
  const y = readLabels(labels, 'labels');
  checkSameLength(p.length, y.length, 'labels', 'prediction');
  if (p.length === 0) throw new TypeError('Expected at least one prediction but received none');
  return [p, y];
}

function classCount(p: number[], y: number[], numClasses: number | undefined): number {
  let largest = 0;
  for (const v of [p, y].flat()) {
    if (v < 0) throw new TypeError(`Expected class indices ≥ 0 but received ${v}`);
    if (v > largest) largest = v;
  }
  const seen = largest + 1;
  if (numClasses === undefined) return seen;
  checkInt(numClasses, `numClasses (≥ the largest class index + 1 = ${seen})`, seen);
  return numClasses;
}

/** Fraction of predictions equal to the label. */
export function accuracy(predictions: Predictions, labels: NumericInput): number {
  const [p, y] = readPair(predictions, labels);
  let correct = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === y[i]) correct++;
  return correct / p.length;
}

/**
 * matrix[t][p] counts samples of true class t predicted as p (rows true, columns predicted, as
 * sklearn's confusion_matrix). Classes are 0 … numClasses − 1.
 */
export function confusionMatrix(predictions: Predictions, labels: NumericInput, numClasses?: number): number[][] {
  const [p, y] = readPair(predictions, labels);
  const c = classCount(p, y, numClasses);
  const matrix = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  for (let i = 0; i < p.length; i++) matrix[y[i]][p[i]]++;
  return matrix;
}

/** Accuracy within each true class (its recall); NaN for a class with no samples. */
export function perClassAccuracy(predictions: Predictions, labels: NumericInput, numClasses?: number): number[] {
  return confusionMatrix(predictions, labels, numClasses).map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[t] / total;
  });
}

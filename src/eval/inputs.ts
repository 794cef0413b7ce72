// Reading metric inputs (tensors or plain arrays) into JS numbers, with argument checks.
import { Tensor } from '../tensor/tensor.js';
import { describe } from '../tensor/checks.js';

/** A 1-d sequence of numbers: a tensor, a plain array or a TypedArray. */
export type NumericInput = Tensor | ArrayLike<number> | ArrayLike<boolean>;

/** The values of a 1-d input as numbers (a 0/1 copy for booleans). */
export function readVector(x: NumericInput, what: string): number[] {
  if (x instanceof Tensor) {
    if (x.ndim !== 1) throw new TypeError(`Expected a 1-d tensor for ${what} but received shape [${x.shape.join(',')}]`);
    return x.toNumbers();
  }
  if (x === null || typeof x !== 'object' || typeof (x as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`Expected a tensor or an array of numbers for ${what} but received ${describe(x)}`);
  }
  return Array.from(x as ArrayLike<number | boolean>, Number);
}

/** Finite numbers only: NaN or ±Infinity in scores makes every rank-based metric meaningless. */
export function readScores(x: NumericInput, what = 'scores'): number[] {
  const v = readVector(x, what);
  const bad = v.findIndex((s) => !Number.isFinite(s));
  if (bad >= 0) throw new TypeError(`Expected finite numbers for ${what} but received ${v[bad]} at index ${bad}`);
  return v;
}

/** Integer class labels (any integers; they need not start at 0). */
export function readLabels(x: NumericInput, what = 'labels'): number[] {
  const v = readVector(x, what);
  const bad = v.findIndex((s) => !Number.isInteger(s));
  if (bad >= 0) throw new TypeError(`Expected integer class labels for ${what} but received ${v[bad]} at index ${bad}`);
  return v;
}

/** Binary labels for anomaly metrics: 1 = anomaly (positive), 0 = normal. */
export function readBinaryLabels(x: NumericInput, what = 'labels'): number[] {
  const v = readVector(x, what);
  const bad = v.findIndex((s) => s !== 0 && s !== 1);
  if (bad >= 0) throw new TypeError(`Expected 0 (normal) or 1 (anomaly) for ${what} but received ${v[bad]} at index ${bad}`);
  return v;
}

export function checkSameLength(n: number, m: number, what: string, per: string): void {
  if (n !== m) throw new TypeError(`Expected ${what} of length ${n} (one per ${per}) but received ${m}`);
}

/** A [N,D] floating tensor (embeddings): the shared check, re-exported for the metrics. */
export { checkEmbeddings } from '../tensor/tensor-checks.js';

/** Rejects option keys the caller misspelt, so a typo never silently falls back to a default. */
export function checkOptionKeys(opts: object, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`Unknown option ${JSON.stringify(key)} for ${what}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
  }
}

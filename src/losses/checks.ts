// Argument checks for heads and losses, done in TS before any native call.
import { Tensor } from '../tensor/tensor.js';
import { describe } from '../tensor/checks.js';

export function checkPositive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected a number > 0 for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkNonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Expected a number ≥ 0 for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`Expected a finite number for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkBetween(value: unknown, what: string, lo: number, hi: number): number {
  if (typeof value !== 'number' || !(value > lo && value < hi)) {
    throw new TypeError(`Expected a number between ${lo} and ${hi} (exclusive) for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected true or false for ${what} but received ${describe(value)}`);
  return value;
}

export function checkChoice<T extends string>(value: unknown, what: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new TypeError(`Expected one of ${choices.map((c) => `'${c}'`).join(', ')} for ${what} but received ${describe(value)}`);
  }
  return value as T;
}

/** Embeddings must be a floating [N, D] tensor with D = embeddingDim. */
export function checkEmbeddings(e: unknown, embeddingDim: number, op: string): Tensor {
  if (!(e instanceof Tensor)) throw new TypeError(`${op}: Expected a Tensor for embeddings but received ${describe(e)}`);
  const shape = e.shape;
  if (shape.length !== 2 || shape[1] !== embeddingDim) {
    throw new TypeError(`${op}: Expected embeddings of shape [N,${embeddingDim}] but received [${shape.join(',')}]`);
  }
  if (e.dtype !== 'float32' && e.dtype !== 'float64' && e.dtype !== 'float16') {
    throw new TypeError(`${op}: Expected floating embeddings but received dtype ${e.dtype}`);
  }
  return e;
}

/**
 * Labels must be int64 [N]. With numClasses, their range is checked too (one host sync): an
 * out-of-range index would otherwise surface as a native gather error, or a device assert on CUDA.
 */
export function checkLabels(labels: unknown, n: number, op: string, numClasses?: number): Tensor {
  if (!(labels instanceof Tensor)) throw new TypeError(`${op}: Expected a Tensor for labels but received ${describe(labels)}`);
  if (labels.dtype !== 'int64') throw new TypeError(`${op}: Expected int64 labels but received dtype ${labels.dtype}`);
  const shape = labels.shape;
  if (shape.length !== 1 || shape[0] !== n) {
    throw new TypeError(`${op}: Expected labels of shape [${n}] (one per embedding) but received [${shape.join(',')}]`);
  }
  if (numClasses !== undefined && n > 0) {
    const lo = labels.min();
    const hi = labels.max();
    const [min, max] = [lo.item(), hi.item()];
    lo.dispose();
    hi.dispose();
    if (min < 0 || max >= numClasses) {
      throw new RangeError(`${op}: Expected labels between 0 and ${numClasses - 1} but received values from ${min} to ${max}`);
    }
  }
  return labels;
}

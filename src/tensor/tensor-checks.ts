// Checks of tensor arguments, with the order and the TypeError/RangeError rule of checks.ts:
// not a Tensor or a wrong dtype → TypeError; a wrong shape or out-of-range values → RangeError.
// `op`, when given, prefixes the message ("triplet.loss: Expected …").
import { Tensor } from './tensor.js';
import { describe } from './checks.js';

const FLOATING = new Set(['float32', 'float64', 'float16']);

function prefix(op: string | undefined): string {
  return op === undefined ? '' : `${op}: `;
}

export function checkTensor(value: unknown, what: string, op?: string): Tensor {
  if (!(value instanceof Tensor)) throw new TypeError(`${prefix(op)}Expected a Tensor for ${what} but received ${describe(value)}`);
  return value;
}

/** A floating [N, D] tensor (rows are embeddings), with D = dim when given. */
export function checkEmbeddings(value: unknown, what: string, dim?: number, op?: string): Tensor {
  const e = checkTensor(value, what, op);
  const shape = e.shape;
  if (dim === undefined && shape.length !== 2) {
    throw new RangeError(`${prefix(op)}Expected a 2-d tensor [N,D] for ${what} but received shape [${shape.join(',')}]`);
  }
  if (dim !== undefined && (shape.length !== 2 || shape[1] !== dim)) {
    throw new RangeError(`${prefix(op)}Expected ${what} of shape [N,${dim}] but received [${shape.join(',')}]`);
  }
  if (!FLOATING.has(e.dtype)) throw new TypeError(`${prefix(op)}Expected floating ${what} but received dtype ${e.dtype}`);
  return e;
}

/**
 * int64 labels of shape [n]. With numClasses, their range is checked too (one host sync): an
 * out-of-range index would otherwise surface as a native gather error, or a device assert on CUDA.
 */
export function checkLabels(value: unknown, what: string, n: number, numClasses?: number, op?: string): Tensor {
  const labels = checkTensor(value, what, op);
  if (labels.dtype !== 'int64') throw new TypeError(`${prefix(op)}Expected int64 ${what} but received dtype ${labels.dtype}`);
  const shape = labels.shape;
  if (shape.length !== 1 || shape[0] !== n) {
    throw new RangeError(`${prefix(op)}Expected ${what} of shape [${n}] (one per embedding) but received [${shape.join(',')}]`);
  }
  if (numClasses !== undefined && n > 0) {
    const lo = labels.min();
    const hi = labels.max();
    const [min, max] = [lo.item(), hi.item()];
    lo.dispose();
    hi.dispose();
    if (min < 0 || max >= numClasses) {
      throw new RangeError(`${prefix(op)}Expected ${what} between 0 and ${numClasses - 1} but received values from ${min} to ${max}`);
    }
  }
  return labels;
}

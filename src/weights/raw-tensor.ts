// Tensors as weight readers produce them: dtype, shape and contiguous little-endian bytes, turned
// into libtorch tensors only once the whole file has been read and checked.
import { native } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';

export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** Row-major (C-contiguous) element bytes. */
  bytes: Uint8Array;
}

export const ELEMENT_BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Contiguous strides (in elements) of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * The elements of a strided view of storage (offset, shape and strides in elements) copied out in
 * row-major order: how torch rebuilds a tensor from a shared storage. The caller has checked that
 * the view lies inside the storage.
 */
export function gatherStrided(storage: Uint8Array, elementBytes: number, offset: number, shape: readonly number[], strides: readonly number[]): Uint8Array {
  const n = numel(shape);
  const out = new Uint8Array(n * elementBytes);
  if (n === 0) return out;
  const contiguous = contiguousStrides(shape).every((s, i) => shape[i] === 1 || s === strides[i]);
  if (contiguous) {
    out.set(storage.subarray(offset * elementBytes, (offset + n) * elementBytes));
    return out;
  }
  const index = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let k = 0; k < n; k++) {
    for (let b = 0; b < elementBytes; b++) out[k * elementBytes + b] = storage[src * elementBytes + b];
    // Odometer increment over the last dimension first.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      src += strides[d];
      if (index[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

export function toTensor(raw: RawTensor): Tensor {
  // fromData needs an aligned buffer of its own.
  const bytes = raw.bytes.byteOffset % 8 === 0 ? raw.bytes : raw.bytes.slice();
  return new Tensor(native.fromData(bytes, raw.dtype, raw.shape));
}

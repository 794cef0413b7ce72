// Tensor element types and the TypedArrays that carry their data in JS.
export const DTYPES = ['float32', 'float64', 'float16', 'int32', 'int64', 'uint8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/** The TypedArray a dtype's data comes out as (bool as 0/1 bytes, float16 as raw 16-bit words). */
export type DataFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int64'
        ? BigInt64Array
        : D extends 'float16'
          ? Uint16Array
          : Uint8Array;

export function checkDtype(value: unknown, what = 'dtype'): DType {
  if (typeof value !== 'string' || !(DTYPES as readonly string[]).includes(value)) {
    throw new TypeError(`Expected one of ${DTYPES.join(', ')} for ${what} but received ${JSON.stringify(value)}`);
  }
  return value as DType;
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  throw new TypeError(`Expected a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array but received ${data.constructor.name}`);
}

/** Wraps raw bytes copied out of a tensor in the TypedArray of its dtype. */
export function viewAs(buffer: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'float16': return new Uint16Array(buffer);
    default: return new Uint8Array(buffer);
  }
}

/** Converts numbers into the TypedArray that holds dtype. */
export function arrayFor(values: ArrayLike<number | boolean>, dtype: DType): ArrayBufferView {
  const n = values.length;
  switch (dtype) {
    case 'float32': return Float32Array.from(values as ArrayLike<number>);
    case 'float64': return Float64Array.from(values as ArrayLike<number>);
    case 'int32': return Int32Array.from(values as ArrayLike<number>);
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(Math.trunc(Number(values[i])));
      return out;
    }
    case 'uint8':
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(values[i]);
      return out;
    }
    case 'float16':
      throw new TypeError('Expected float32 data for a float16 tensor: create it as float32 and convert with .to("float16")');
  }
}

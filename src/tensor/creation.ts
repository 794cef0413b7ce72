// Creating tensors: from JS data, constant fills, ranges, and seeded random draws.
import { native } from '../binding/native.js';
import { type DType, arrayFor, checkDtype, dtypeOfArray } from './dtype.js';
import { checkInt, checkNumber, checkShape, describe } from './checks.js';
import { type Device, checkDevice } from './device.js';
import { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function opts(o: CreateOptions, fallback: DType = 'float32'): [DType, Device] {
  return [o.dtype === undefined ? fallback : checkDtype(o.dtype), o.device === undefined ? 'cpu' : checkDevice(o.device)];
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flatten(data: Nested, shape: number[], dim: number, out: (number | boolean)[]): void {
  if (dim === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new TypeError(`Expected a number at depth ${dim} but received ${describe(data)}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new TypeError(`Expected a ragged-free nested array: an array of length ${shape[dim]} at depth ${dim} but received ${describe(data)}`);
  }
  for (const d of data) flatten(d, shape, dim + 1, out);
}

/**
 * A tensor from a TypedArray (with shape, default 1-d) or nested arrays of numbers/booleans.
 * The data is copied. Numbers default to float32, booleans to bool.
 */
export function tensor(data: ArrayBufferView | Nested, options: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    const [dtype, device] = opts(options, own);
    const length = (data as unknown as { length: number }).length;
    const shape = options.shape === undefined ? [length] : checkShape(options.shape);
    if (dtype === own || (own === 'uint8' && dtype === 'bool')) {
      return finish(new Tensor(native.fromData(data, dtype, shape, device)), options);
    }
    const t = new Tensor(native.fromData(data, own, shape, device));
    const converted = t.to(dtype);
    t.dispose();
    return finish(converted, options);
  }
  const shape = options.shape ?? inferShape(data);
  const flat: (number | boolean)[] = [];
  flatten(data, inferShape(data), 0, flat);
  const fallback: DType = typeof flat[0] === 'boolean' ? 'bool' : 'float32';
  const [dtype, device] = opts(options, fallback);
  checkShape(shape);
  if (dtype === 'float16') {
    const t = new Tensor(native.fromData(arrayFor(flat, 'float32'), 'float32', shape, device));
    const converted = t.to('float16');
    t.dispose();
    return finish(converted, options);
  }
  return finish(new Tensor(native.fromData(arrayFor(flat, dtype), dtype, shape, device)), options);
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  const [dtype, device] = opts(options);
  return finish(new Tensor(native.full([], value, dtype, device)), options);
}

export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.zeros(checkShape(shape), ...opts(options))), options);
}
export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.ones(checkShape(shape), ...opts(options))), options);
}
export function full(shape: number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.full(checkShape(shape), value, ...opts(options))), options);
}
export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, ...options });
}
export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, ...options });
}
export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...options });
}

/** Values start, start+step, … below end. Integers give int64 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  checkNumber(start, 'start of arange');
  checkNumber(end, 'end of arange');
  if (step === 0) throw new TypeError('Expected a non-zero step for arange but received 0');
  const integral = [start, end, step].every(Number.isInteger);
  return finish(new Tensor(native.arange(start, end, step, ...opts(options, integral ? 'int64' : 'float32'))), options);
}
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.linspace(start, end, checkInt(steps, 'steps of linspace', 0), ...opts(options))), options);
}
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.eye(checkInt(n, 'n of eye', 0), checkInt(m, 'm of eye', 0), ...opts(options))), options);
}

// Random draws use libtorch's global generator; seed it with manualSeed for reproducible runs.
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.rand(checkShape(shape), ...opts(options))), options);
}
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.randn(checkShape(shape), ...opts(options))), options);
}
/** Integers uniformly drawn from low ≤ x < high (int64 by default). */
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  checkInt(low, 'low of randint');
  checkInt(high, `high of randint (> low = ${low})`, low + 1);
  return finish(new Tensor(native.randint(low, high, checkShape(shape), ...opts(options, 'int64'))), options);
}
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.randperm(checkInt(n, 'n of randperm', 0), ...opts(options, 'int64'))), options);
}

/** Seeds libtorch's generators (CPU and CUDA). */
export function manualSeed(seed: number): void {
  native.manualSeed(checkInt(seed, 'seed', 0, Number.MAX_SAFE_INTEGER));
}
/** The CPU generator's state, as a uint8 tensor, for checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}

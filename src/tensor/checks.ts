// Argument checks on plain values, done in TS before a native call, worded as sharp's:
// "Expected … for <what> but received …". Tensor arguments are checked in tensor-checks.ts (kept
// apart only because tensor.ts itself uses these checks).
//
// One order of arguments: check(value, what, ...constraints) → the value, narrowed.
// One rule for the error class:
//   TypeError  — the value is not of the expected kind: JS type (number, string, boolean, array,
//                Tensor) or, for tensors, dtype;
//   RangeError — it is of the right kind but its value is not accepted: out of range, not an
//                integer, NaN or infinite, not one of the choices, a wrong shape or length.

/** A short, readable rendering of any received value for error messages. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}

function expectNumber(value: unknown, expected: string, what: string): number {
  if (typeof value !== 'number') throw new TypeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  return value;
}

export function checkInt(value: unknown, what: string, min = -Infinity, max = Infinity): number {
  const expected = min === -Infinity && max === Infinity ? 'an integer'
    : max === Infinity ? `an integer ≥ ${min}` : min === -Infinity ? `an integer ≤ ${max}` : `an integer between ${min} and ${max}`;
  const n = expectNumber(value, expected, what);
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  return n;
}

/** Any number but NaN (±Infinity allowed), within [min, max] when given. */
export function checkNumber(value: unknown, what: string, min = -Infinity, max = Infinity): number {
  const expected = min === -Infinity && max === Infinity ? 'a number' : `a number between ${min} and ${max}`;
  const n = expectNumber(value, expected, what);
  if (Number.isNaN(n) || n < min || n > max) throw new RangeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  return n;
}

export function checkFinite(value: unknown, what: string): number {
  const n = expectNumber(value, 'a finite number', what);
  if (!Number.isFinite(n)) throw new RangeError(`Expected a finite number for ${what} but received ${describe(value)}`);
  return n;
}

export function checkPositive(value: unknown, what: string): number {
  const n = expectNumber(value, 'a number > 0', what);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`Expected a number > 0 for ${what} but received ${describe(value)}`);
  return n;
}

export function checkNonNegative(value: unknown, what: string): number {
  const n = expectNumber(value, 'a number ≥ 0', what);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`Expected a number ≥ 0 for ${what} but received ${describe(value)}`);
  return n;
}

/** A number strictly between lo and hi. */
export function checkBetween(value: unknown, what: string, lo: number, hi: number): number {
  const expected = `a number between ${lo} and ${hi} (exclusive)`;
  const n = expectNumber(value, expected, what);
  if (!(n > lo && n < hi)) throw new RangeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  return n;
}

export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected true or false for ${what} but received ${describe(value)}`);
  return value;
}

export function checkChoice<T extends string>(value: unknown, what: string, choices: readonly T[]): T {
  const expected = `one of ${choices.map((c) => `'${c}'`).join(', ')}`;
  if (typeof value !== 'string') throw new TypeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  if (!choices.includes(value as T)) throw new RangeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  return value as T;
}

export function checkShape(shape: unknown, what = 'shape'): number[] {
  const expected = 'an array of non-negative integers';
  if (!Array.isArray(shape) || !shape.every((s) => typeof s === 'number')) throw new TypeError(`Expected ${expected} for ${what} but received ${describe(shape)}`);
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) throw new RangeError(`Expected ${expected} for ${what} but received ${describe(shape)}`);
  return shape as number[];
}

/** A dim index valid for a tensor of rank ndim (negative counts from the end). */
export function checkDim(dim: unknown, ndim: number, op: string): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  return checkInt(dim, `dim of ${op} on a ${ndim}-d tensor`, lo, hi);
}

export function checkDims(dims: number | number[] | undefined, ndim: number, op: string): number[] | undefined {
  if (dims === undefined) return undefined;
  const list = Array.isArray(dims) ? dims : [dims];
  for (const d of list) checkDim(d, ndim, op);
  return list;
}

/** A non-negative integer, or a pair of them, as a pair (kernel sizes, strides, padding). */
export function pair(value: number | number[], what: string): number[] {
  const expected = 'a non-negative integer or a pair of them';
  const list = Array.isArray(value) ? value : [value, value];
  if (!list.every((v) => typeof v === 'number')) throw new TypeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  if (list.length !== 2 || !list.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RangeError(`Expected ${expected} for ${what} but received ${describe(value)}`);
  }
  return list;
}

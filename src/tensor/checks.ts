// Argument checks done in TS before a native call, with "Expected … but received …" messages.

export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}

export function checkInt(value: unknown, what: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? 'an integer'
      : max === Infinity ? `an integer ≥ ${min}` : `an integer between ${min} and ${max}`;
    throw new TypeError(`Expected ${range} for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected a number for ${what} but received ${describe(value)}`);
  }
  return value;
}

export function checkShape(shape: unknown, what = 'shape'): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new TypeError(`Expected an array of non-negative integers for ${what} but received ${describe(shape)}`);
  }
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

export function pair(value: number | number[], what: string): number[] {
  const list = Array.isArray(value) ? value : [value, value];
  if (list.length !== 2 || !list.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new TypeError(`Expected a non-negative integer or a pair of them for ${what} but received ${describe(value)}`);
  }
  return list;
}

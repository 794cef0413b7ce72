// Shared test helpers: fixtures, tolerances, finite differences.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, tensor, tidy, noGrad, type DType } from '../src/index.js';

export interface Encoded { shape: number[]; dtype: string; data: number[] }
export interface FixtureCase {
  name: string;
  inputs: Record<string, Encoded>;
  opts: Record<string, unknown>;
  outputs: Record<string, Encoded>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/test or test. */
export const repoRoot = here.includes(`${'dist'}`) ? join(here, '..', '..') : join(here, '..');

export function loadFixtures(file = 'torch-forward.json'): Map<string, FixtureCase> {
  const json = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', file), 'utf8')) as { cases: FixtureCase[] };
  return new Map(json.cases.map((c) => [c.name, c]));
}

const DTYPE_MAP: Record<string, DType> = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', uint8: 'uint8' };

export function decode(e: Encoded, dtype?: DType): Tensor {
  return tensor(e.data, { shape: e.shape, dtype: dtype ?? DTYPE_MAP[e.dtype] ?? 'float32' });
}

/** Asserts element-wise |a − e| ≤ atol + rtol·|e| and equal shapes. */
export function assertClose(actual: Tensor | number[] | number, expected: Encoded | number[] | number, opts: { atol?: number; rtol?: number; what?: string } = {}): void {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const what = opts.what ?? 'value';
  let a: number[];
  if (actual instanceof Tensor) {
    a = actual.toNumbers();
    if (!Array.isArray(expected) && typeof expected === 'object') {
      assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
    }
  } else {
    a = typeof actual === 'number' ? [actual] : actual;
  }
  const e = typeof expected === 'number' ? [expected] : Array.isArray(expected) ? expected : expected.data;
  assert.equal(a.length, e.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const tol = atol + rtol * Math.abs(e[i]);
    if (!(Math.abs(a[i] - e[i]) <= tol)) {
      assert.fail(`${what}[${i}]: ${a[i]} differs from ${e[i]} by ${Math.abs(a[i] - e[i])} > ${tol}`);
    }
  }
}

/**
 * Central finite differences of a scalar function at x (float64), compared with autograd's
 * gradient. f receives a tensor that requires grad and returns a one-element tensor.
 */
export function gradcheck(f: (x: Tensor) => Tensor, x0: Tensor, opts: { eps?: number; atol?: number; rtol?: number; what?: string } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const base = Float64Array.from(x0.toNumbers());
  const shape = x0.shape;
  const analytic = tidy(() => {
    const x = tensor(base, { shape, dtype: 'float64', requiresGrad: true });
    f(x).backward();
    return x.grad!.toNumbers();
  });
  const numeric = noGrad(() => base.map((_, i) => tidy(() => {
    const plus = base.slice(); plus[i] += eps;
    const minus = base.slice(); minus[i] -= eps;
    const fp = f(tensor(plus, { shape, dtype: 'float64' })).item();
    const fm = f(tensor(minus, { shape, dtype: 'float64' })).item();
    return (fp - fm) / (2 * eps);
  })));
  assertClose(analytic, Array.from(numeric), { atol: opts.atol ?? 1e-6, rtol: opts.rtol ?? 1e-5, what: opts.what ?? 'gradient' });
}

/** Runs fn with stderr (progress bars, warnings) silenced; stdout stays, the test reporter writes there. */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const err = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = err;
  }
}

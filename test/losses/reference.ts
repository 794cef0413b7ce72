// Plain-JS references for the loss tests: small dense math on number arrays, written without the
// library's ops so that the tensor code is checked against an independent computation.
import { type Module, type Tensor, noGrad, tidy } from '../../src/index.js';

export type Matrix = number[][];

export function rows(t: Tensor): Matrix {
  return t.toArray() as Matrix;
}

export function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: number[]): number {
  return Math.sqrt(dot(a, a));
}

export function unit(a: number[]): number[] {
  const n = Math.max(norm(a), 1e-12);
  return a.map((v) => v / n);
}

export function euclidean(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Cosine matrix [N,C] between rows of e and rows of w. */
export function cosines(e: Matrix, w: Matrix): Matrix {
  return e.map((x) => w.map((c) => Math.min(1, Math.max(-1, dot(unit(x), unit(c))))));
}

/** −log softmax(z)[y]. */
export function crossEntropy(z: number[], y: number): number {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - z[y];
}

export function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Lower median, as torch.median. */
export function lowerMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Converts a module's parameters and floating buffers to float64 in place (for gradient checks). */
export function toFloat64(m: Module): void {
  noGrad(() => tidy(() => {
    for (const [, p] of m.namedParameters()) p.replaceWith_(p.detach().to('float64')).requiresGrad_(true);
    for (const [, b] of m.namedBuffers()) if (b.dtype === 'float32') b.replaceWith_(b.to('float64'));
  }));
}

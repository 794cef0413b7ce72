import { px } from './chart-options.js';

export interface LinePath {
  /** Path data with a new subpath after every gap; empty when no two neighbours are finite. */
  d: string;
  /** Finite points with no finite neighbour: a path cannot show them, so they need a marker. */
  isolated: Array<[number, number]>;
  /** Every finite point in pixels (for legend placement and markers). */
  points: Array<[number, number]>;
}

/**
 * Builds a polyline in pixel space that breaks at non-finite values (as matplotlib does with NaN)
 * instead of drawing through them or dropping the whole series.
 */
export function linePath(xs: ArrayLike<number>, ys: ArrayLike<number>, toX: (v: number) => number, toY: (v: number) => number): LinePath {
  const parts: string[] = [];
  const isolated: Array<[number, number]> = [];
  const points: Array<[number, number]> = [];
  let run: Array<[number, number]> = [];
  const flush = () => {
    if (run.length === 1) isolated.push(run[0]!);
    if (run.length >= 2) parts.push(run.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)} ${px(y)}`).join(''));
    run = [];
  };
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const p: [number, number] = [toX(x), toY(y)];
      run.push(p);
      points.push(p);
    } else {
      flush();
    }
  }
  flush();
  return { d: parts.join(''), isolated, points };
}

/** Points along each segment, so legend placement also avoids the lines between data points. */
export function samplePath(points: ReadonlyArray<readonly [number, number]>, perSegment = 4): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < points.length; i++) {
    const [x, y] = points[i]!;
    out.push([x, y]);
    const next = points[i + 1];
    if (!next) continue;
    for (let k = 1; k < perSegment; k++) {
      const t = k / perSegment;
      out.push([x + (next[0] - x) * t, y + (next[1] - y) * t]);
    }
  }
  return out;
}

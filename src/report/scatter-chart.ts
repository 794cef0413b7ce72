import { Axes } from './axes.js';
import { checkChartOptions, checkNumberArray, checkSeriesList, paddedDomain, px, type ChartOptions } from './chart-options.js';
import { escapeXml } from './escape.js';
import { composeChart, type LegendEntry } from './legend.js';
import { finiteExtent } from './extent.js';
import { seriesColor } from './palette.js';

export interface ScatterGroup {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface ScatterOptions extends ChartOptions {
  /** Dot radius in pixels (default: smaller as the number of points grows). */
  radius?: number;
  /** Dot opacity (default 0.7), so dense regions show as darker. */
  opacity?: number;
}

function defaultRadius(points: number): number {
  if (points <= 300) return 3.5;
  if (points <= 3000) return 2.5;
  return 1.6;
}

/**
 * A 2-D scatter plot coloured by group (e.g. an embedding projection with normal, anomaly and
 * reference points). Groups are drawn in order, so put the most important one last.
 */
export function scatterChart(groups: readonly ScatterGroup[], options: ScatterOptions = {}): string {
  checkSeriesList('groups', groups);
  checkChartOptions(options);
  groups.forEach((g, i) => {
    checkNumberArray(`groups[${i}].x`, g.x);
    checkNumberArray(`groups[${i}].y`, g.y);
    if (g.x.length !== g.y.length) {
      throw new RangeError(`Expected groups[${i}].y to have the same length as groups[${i}].x (${g.x.length}) but received ${g.y.length}`);
    }
  });
  const finite = groups.map((g) => {
    const pts: Array<[number, number]> = [];
    for (let k = 0; k < g.x.length; k++) {
      if (Number.isFinite(g.x[k]) && Number.isFinite(g.y[k])) pts.push([g.x[k]!, g.y[k]!]);
    }
    return pts;
  });
  finite.forEach((pts, i) => {
    if (pts.length === 0) {
      throw new RangeError(`Expected at least one point with finite x and y in groups[${i}] ("${groups[i]!.label}") but every point has NaN or infinite values`);
    }
  });
  const total = finite.reduce((n, p) => n + p.length, 0);
  const radius = options.radius ?? defaultRadius(total);
  const opacity = options.opacity ?? 0.7;
  if (!(radius > 0 && radius <= 50)) throw new RangeError(`Expected a number in (0, 50] for radius but received ${radius}`);
  if (!(opacity > 0 && opacity <= 1)) throw new RangeError(`Expected a number in (0, 1] for opacity but received ${opacity}`);
  const xExtent = finiteExtent(finite.map((p) => p.map((q) => q[0])))!;
  const yExtent = finiteExtent(finite.map((p) => p.map((q) => q[1])))!;
  const axes = new Axes({
    width: options.width ?? 640,
    height: options.height ?? 480,
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    xDomain: options.xDomain ?? paddedDomain(xExtent[0], xExtent[1]),
    yDomain: options.yDomain ?? paddedDomain(yExtent[0], yExtent[1]),
    grid: options.grid,
  });
  const marks: string[] = [];
  const occupied: Array<[number, number]> = [];
  const legend: LegendEntry[] = [];
  // Legend placement only needs the shape of the cloud; a sample keeps it fast for 100k points.
  const stride = Math.max(1, Math.ceil(total / 5000));
  finite.forEach((pts, i) => {
    const g = groups[i]!;
    const color = g.color ?? seriesColor(i);
    marks.push(`<g class="series" data-label="${escapeXml(g.label)}" fill="${color}" fill-opacity="${opacity}">`);
    pts.forEach(([x, y], k) => {
      const cx = axes.x(x);
      const cy = axes.y(y);
      marks.push(`<circle cx="${px(cx)}" cy="${px(cy)}" r="${radius}"/>`);
      if (k % stride === 0) occupied.push([cx, cy]);
    });
    marks.push('</g>');
    legend.push({ label: `${g.label} (n = ${pts.length})`, color, kind: 'marker', opacity: Math.max(opacity, 0.8) });
  });
  return composeChart(axes, marks, legend, options.legend ?? 'best', occupied);
}

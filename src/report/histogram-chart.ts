import { Axes } from './axes.js';
import { checkChartOptions, checkNumberArray, checkSeriesList, paddedDomain, px, type ChartOptions } from './chart-options.js';
import { escapeXml } from './escape.js';
import { composeChart, type LegendEntry } from './legend.js';
import { seriesColor } from './palette.js';
import { finiteExtent } from './extent.js';

export interface HistogramGroup {
  label: string;
  /** Scores; non-finite values are ignored, but a group needs at least one finite value. */
  values: ArrayLike<number>;
  color?: string;
}

export interface HistogramOptions extends Omit<ChartOptions, 'xDomain'> {
  /** Number of equal-width bins shared by all groups (default: √n, between 10 and 60). */
  bins?: number;
  /** Bin range (default: the range of all finite values). Values outside are not counted. */
  range?: readonly [number, number];
  /**
   * Normalise each group to unit area (default true), so groups of different sizes (many normal,
   * few anomalies) stay comparable; false plots raw counts.
   */
  density?: boolean;
  /** Fill opacity of the overlaid groups (default 0.45). */
  opacity?: number;
}

/** Counts per bin for `edges.length - 1` equal-width bins; the last bin includes its right edge. */
export function histogramCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]! += 1;
  }
  return counts;
}

function finiteCount(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) n++;
  return n;
}

/** Overlaid, semi-transparent histograms of two or more groups of scores (e.g. normal vs anomaly). */
export function histogramChart(groups: readonly HistogramGroup[], options: HistogramOptions = {}): string {
  checkSeriesList('groups', groups);
  checkChartOptions(options);
  groups.forEach((g, i) => {
    checkNumberArray(`groups[${i}].values`, g.values);
    if (finiteCount(g.values) === 0) {
      throw new RangeError(`Expected at least one finite value in groups[${i}].values ("${g.label}") but every value is NaN or infinite`);
    }
  });
  const total = groups.reduce((n, g) => n + finiteCount(g.values), 0);
  const bins = options.bins ?? Math.min(60, Math.max(10, Math.round(Math.sqrt(total))));
  if (!Number.isInteger(bins) || bins < 1 || bins > 1000) {
    throw new RangeError(`Expected integer between 1 and 1000 for bins but received ${bins}`);
  }
  const opacity = options.opacity ?? 0.45;
  if (!(opacity >= 0 && opacity <= 1)) {
    throw new RangeError(`Expected a number in [0, 1] for opacity but received ${opacity}`);
  }
  const range = options.range;
  if (range !== undefined && !(Array.isArray(range) && range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[1] > range[0])) {
    throw new RangeError(`Expected [min, max] with finite min < max for range but received ${JSON.stringify(range)}`);
  }
  const extent = finiteExtent(groups.map((g) => g.values))!;
  // A constant score still needs a bin of some width to be drawn.
  const [lo, hi] = range ?? (extent[1] > extent[0] ? extent : paddedDomain(extent[0], extent[1]));
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins);
  const density = options.density ?? true;
  const heights = groups.map((g) => {
    const counts = histogramCounts(g.values, edges);
    if (!density) return counts;
    const n = counts.reduce((a, b) => a + b, 0);
    const binWidth = (hi - lo) / bins;
    return counts.map((c) => (n > 0 ? c / (n * binWidth) : 0));
  });
  const top = Math.max(...heights.flat());
  const axes = new Axes({
    width: options.width ?? 640,
    height: options.height ?? 480,
    title: options.title,
    xLabel: options.xLabel ?? 'Score',
    yLabel: options.yLabel ?? (density ? 'Density' : 'Count'),
    xDomain: paddedDomain(lo, hi, 0.03),
    yDomain: options.yDomain ?? [0, top > 0 ? top * 1.08 : 1],
    grid: options.grid,
  });
  const marks: string[] = [];
  const occupied: Array<[number, number]> = [];
  const legend: LegendEntry[] = [];
  const y0 = axes.y(0);
  groups.forEach((g, i) => {
    const color = g.color ?? seriesColor(i);
    const h = heights[i]!;
    // One closed step outline per group: cheaper than a rect per bin and keeps the outline crisp.
    let d = `M${px(axes.x(edges[0]!))} ${px(y0)}`;
    for (let k = 0; k < bins; k++) {
      const yk = axes.y(h[k]!);
      d += `V${px(yk)}H${px(axes.x(edges[k + 1]!))}`;
      for (let s = 0; s <= 4; s++) occupied.push([axes.x((edges[k]! + edges[k + 1]!) / 2), y0 + ((yk - y0) * s) / 4]);
    }
    d += `V${px(y0)}Z`;
    marks.push(`<g class="series" data-label="${escapeXml(g.label)}">`);
    marks.push(`<path d="${d}" fill="${color}" fill-opacity="${opacity}" stroke="${color}" stroke-width="1.2" stroke-linejoin="miter"/>`);
    marks.push('</g>');
    legend.push({ label: `${g.label} (n = ${finiteCount(g.values)})`, color, kind: 'patch', opacity });
  });
  return composeChart(axes, marks, legend, options.legend ?? 'best', occupied);
}

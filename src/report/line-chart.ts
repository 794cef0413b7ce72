import { Axes } from './axes.js';
import {
  checkChartOptions,
  checkNumberArray,
  checkSeriesList,
  paddedDomain,
  px,
  type ChartOptions,
} from './chart-options.js';
import { escapeXml } from './escape.js';
import { composeChart, type LegendEntry } from './legend.js';
import { linePath, samplePath } from './line-path.js';
import { seriesColor, seriesDash } from './palette.js';
import { finiteExtent } from './extent.js';

export interface LineSeries {
  label: string;
  /** Values; NaN or ±Infinity leave a gap in the line. */
  y: readonly number[];
  /** Positions; default 1, 2, …, n (epochs counted from 1). */
  x?: readonly number[];
  /** CSS colour; default from the palette by position. */
  color?: string;
}

export interface LineChartOptions extends ChartOptions {
  /** Dots on every point: "auto" (default) shows them for series of at most 30 points. */
  markers?: boolean | 'auto';
}

/**
 * A line chart of one or more series, e.g. validation accuracy per epoch for each head.
 * Returns a standalone SVG document.
 */
export function lineChart(series: readonly LineSeries[], options: LineChartOptions = {}): string {
  checkSeriesList('series', series);
  checkChartOptions(options);
  const xs = series.map((s, i) => {
    checkNumberArray(`series[${i}].y`, s.y);
    if (s.x === undefined) return Array.from(s.y, (_, k) => k + 1);
    checkNumberArray(`series[${i}].x`, s.x);
    if (s.x.length !== s.y.length) {
      throw new RangeError(`Expected series[${i}].x to have the same length as series[${i}].y (${s.y.length}) but received ${s.x.length}`);
    }
    return s.x;
  });
  // Only points with both coordinates finite count towards the axis ranges.
  const finiteX = xs.map((x, i) => Array.from(x, (v, k) => (Number.isFinite(series[i]!.y[k]!) ? v : NaN)));
  const finiteY = series.map((s, i) => Array.from(s.y, (v, k) => (Number.isFinite(xs[i]![k]!) ? v : NaN)));
  const xExtent = finiteExtent(finiteX);
  const yExtent = finiteExtent(finiteY);
  if (!xExtent || !yExtent) {
    throw new RangeError('Expected at least one point with finite x and y in series but every value is NaN or infinite');
  }
  const integerX = xs.every((x) => Array.from(x).every((v) => !Number.isFinite(v) || Number.isInteger(v)));
  const axes = new Axes({
    width: options.width ?? 640,
    height: options.height ?? 480,
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    xDomain: options.xDomain ?? paddedDomain(xExtent[0], xExtent[1]),
    yDomain: options.yDomain ?? paddedDomain(yExtent[0], yExtent[1]),
    xIntegerTicks: integerX,
    grid: options.grid,
  });
  const marks: string[] = [];
  const occupied: Array<[number, number]> = [];
  const legend: LegendEntry[] = [];
  series.forEach((s, i) => {
    const color = s.color ?? seriesColor(i);
    const dash = seriesDash(i);
    const path = linePath(xs[i]!, s.y, (v) => axes.x(v), (v) => axes.y(v));
    const showMarkers = options.markers === true || ((options.markers ?? 'auto') === 'auto' && s.y.length <= 30);
    const dots = showMarkers ? path.points : path.isolated;
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    marks.push(`<g class="series" data-label="${escapeXml(s.label)}">`);
    marks.push(`<path d="${path.d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dashAttr}/>`);
    for (const [x, y] of dots) marks.push(`<circle cx="${px(x)}" cy="${px(y)}" r="3" fill="${color}"/>`);
    marks.push('</g>');
    occupied.push(...samplePath(path.points));
    legend.push({ label: s.label, color, kind: 'line', dash, marker: showMarkers || path.isolated.length > 0 });
  });
  return composeChart(axes, marks, legend, options.legend ?? 'best', occupied);
}

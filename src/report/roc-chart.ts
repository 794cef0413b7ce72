// The ROC chart draws curves computed by eval/roc.ts; the AUROC shown is the caller's (from
// eval/roc.ts `auroc`), so the project has one AUROC computation.
import type { RocCurve } from '../eval/roc.js';
import { Axes } from './axes.js';
import { checkChartOptions, checkNumberArray, checkSeriesList, type ChartOptions } from './chart-options.js';
import { escapeXml } from './escape.js';
import { composeChart, type LegendEntry } from './legend.js';
import { linePath, samplePath } from './line-path.js';
import { seriesColor, seriesDash } from './palette.js';

/** One curve of the chart: an eval/roc.ts curve's points (NaN points are skipped) with a label. */
export interface RocSeries extends Pick<RocCurve, 'fpr' | 'tpr'> {
  label: string;
  /** Shown in the legend: eval/roc.ts `auroc` of the scores the curve came from. */
  auroc: number;
  color?: string;
}

export interface RocChartOptions extends Omit<ChartOptions, 'xDomain' | 'yDomain'> {
  /** Digits of the AUROC in the legend (default 3). */
  aurocDigits?: number;
}

/**
 * Finite (fpr, tpr) pairs sorted along the curve, with the (0, 0) and (1, 1) ends every ROC curve
 * has (thresholds above and below all scores) added when the caller left them out.
 */
export function rocPoints(fpr: readonly number[], tpr: readonly number[]): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  for (let i = 0; i < fpr.length; i++) {
    if (Number.isFinite(fpr[i]) && Number.isFinite(tpr[i])) pts.push([fpr[i]!, tpr[i]!]);
  }
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length === 0 || pts[0]![0] !== 0 || pts[0]![1] !== 0) pts.unshift([0, 0]);
  const last = pts.at(-1)!;
  if (last[0] !== 1 || last[1] !== 1) pts.push([1, 1]);
  return pts;
}

/** ROC curves (FPR vs TPR) with the chance diagonal and each curve's AUROC in the legend. */
export function rocChart(curves: readonly RocSeries[], options: RocChartOptions = {}): string {
  checkSeriesList('curves', curves);
  checkChartOptions(options);
  const digits = options.aurocDigits ?? 3;
  if (!Number.isInteger(digits) || digits < 1 || digits > 6) {
    throw new RangeError(`Expected integer between 1 and 6 for aurocDigits but received ${digits}`);
  }
  curves.forEach((c, i) => {
    checkNumberArray(`curves[${i}].fpr`, c.fpr);
    checkNumberArray(`curves[${i}].tpr`, c.tpr);
    if (c.fpr.length !== c.tpr.length) {
      throw new RangeError(`Expected curves[${i}].tpr to have the same length as curves[${i}].fpr (${c.fpr.length}) but received ${c.tpr.length}`);
    }
    for (const [name, arr] of [['fpr', c.fpr], ['tpr', c.tpr]] as const) {
      const bad = arr.find((v) => Number.isFinite(v) && (v < 0 || v > 1));
      if (bad !== undefined) {
        throw new RangeError(`Expected values in [0, 1] for curves[${i}].${name} but received ${bad}`);
      }
    }
  });
  // A square plot area keeps the diagonal at 45°, so curves read the way people expect.
  const width = options.width ?? 560;
  const height = options.height ?? 520;
  const axes = new Axes({
    width,
    height,
    title: options.title ?? 'ROC curve',
    xLabel: options.xLabel ?? 'False positive rate',
    yLabel: options.yLabel ?? 'True positive rate',
    xDomain: [-0.02, 1.02],
    yDomain: [-0.02, 1.02],
    grid: options.grid,
  });
  const marks: string[] = [];
  const occupied: Array<[number, number]> = [];
  const legend: LegendEntry[] = [];
  const chance = `M${axes.x(0)} ${axes.y(0)}L${axes.x(1)} ${axes.y(1)}`;
  marks.push(`<path class="chance" d="${chance}" stroke="#7f7f7f" stroke-width="1.2" stroke-dasharray="5 4" fill="none"/>`);
  occupied.push(...samplePath([[axes.x(0), axes.y(0)], [axes.x(1), axes.y(1)]], 40));
  curves.forEach((c, i) => {
    const color = c.color ?? seriesColor(i);
    const dash = seriesDash(i);
    const pts = rocPoints(c.fpr, c.tpr);
    const path = linePath(pts.map((p) => p[0]), pts.map((p) => p[1]), (v) => axes.x(v), (v) => axes.y(v));
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    marks.push(`<g class="series" data-label="${escapeXml(c.label)}">`);
    marks.push(`<path d="${path.d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dashAttr}/>`);
    marks.push('</g>');
    occupied.push(...samplePath(path.points, 8));
    const aurocText = Number.isFinite(c.auroc) ? c.auroc.toFixed(digits) : 'n/a';
    legend.push({ label: `${c.label} (AUROC = ${aurocText})`, color, kind: 'line', dash });
  });
  legend.push({ label: 'chance (AUROC = 0.5)', color: '#7f7f7f', kind: 'line', dash: '5 4' });
  return composeChart(axes, marks, legend, options.legend ?? 'lower right', occupied);
}

import { escapeXml } from './escape.js';
import { STYLE, type Axes, type Rect } from './axes.js';
import type { LegendPlacement } from './chart-options.js';
import { px } from './chart-options.js';
import { textWidth } from './text-width.js';

export interface LegendEntry {
  label: string;
  color: string;
  /** How the swatch is drawn: a line (optionally dashed, with a marker), a dot, or a filled patch. */
  kind: 'line' | 'marker' | 'patch';
  dash?: string;
  marker?: boolean;
  opacity?: number;
}

const PAD = 8;
const ROW = STYLE.legendSize + 7;
const SWATCH = 26;
const INSET = 8;

type Corner = Exclude<LegendPlacement, 'best' | 'none'>;
// Matplotlib's order of preference when several corners are equally empty.
const CORNERS: readonly Corner[] = ['upper right', 'upper left', 'lower left', 'lower right'];

function boxAt(corner: Corner, plot: Rect, w: number, h: number): Rect {
  const left = corner.endsWith('right') ? plot.left + plot.width - INSET - w : plot.left + INSET;
  const top = corner.startsWith('upper') ? plot.top + INSET : plot.top + plot.height - INSET - h;
  return { left, top, width: w, height: h };
}

function countInside(box: Rect, points: ReadonlyArray<readonly [number, number]>): number {
  let n = 0;
  for (const [x, y] of points) {
    if (x >= box.left - 4 && x <= box.left + box.width + 4 && y >= box.top - 4 && y <= box.top + box.height + 4) n++;
  }
  return n;
}

/**
 * Draws the legend inside the plot. With "best", it goes in the corner that hides the fewest of
 * `occupied` (pixel positions sampled from the data).
 */
export function renderLegend(
  entries: readonly LegendEntry[],
  placement: LegendPlacement,
  plot: Rect,
  occupied: ReadonlyArray<readonly [number, number]>,
): string {
  if (placement === 'none' || entries.length === 0) return '';
  const w = PAD * 2 + SWATCH + 8 + Math.max(...entries.map((e) => textWidth(e.label, STYLE.legendSize)));
  const h = PAD * 2 + ROW * entries.length - 7 + 4;
  let box: Rect;
  if (placement === 'best') {
    const scored = CORNERS.map((c) => ({ box: boxAt(c, plot, w, h), n: 0 }));
    for (const s of scored) s.n = countInside(s.box, occupied);
    box = scored.reduce((best, s) => (s.n < best.n ? s : best)).box;
  } else {
    box = boxAt(placement, plot, w, h);
  }
  const out = [`<g class="legend" font-size="${STYLE.legendSize}">`];
  out.push(`<rect x="${px(box.left)}" y="${px(box.top)}" width="${px(box.width)}" height="${px(box.height)}" rx="3" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
  entries.forEach((e, i) => {
    const cy = box.top + PAD + 2 + ROW * i + STYLE.legendSize / 2;
    const sx = box.left + PAD;
    if (e.kind === 'line') {
      const dash = e.dash ? ` stroke-dasharray="${e.dash}"` : '';
      out.push(`<path d="M${px(sx)} ${px(cy)}h${SWATCH}" stroke="${e.color}" stroke-width="2"${dash} fill="none"/>`);
      if (e.marker) out.push(`<circle cx="${px(sx + SWATCH / 2)}" cy="${px(cy)}" r="3" fill="${e.color}"/>`);
    } else if (e.kind === 'marker') {
      out.push(`<circle cx="${px(sx + SWATCH / 2)}" cy="${px(cy)}" r="4" fill="${e.color}" fill-opacity="${e.opacity ?? 1}"/>`);
    } else {
      out.push(`<rect x="${px(sx + 3)}" y="${px(cy - 6)}" width="${SWATCH - 6}" height="12" fill="${e.color}" fill-opacity="${e.opacity ?? 1}" stroke="${e.color}"/>`);
    }
    out.push(`<text class="legend-label" x="${px(sx + SWATCH + 8)}" y="${px(cy + STYLE.legendSize * 0.35)}" fill="${STYLE.textColor}">${escapeXml(e.label)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** The whole SVG document of a chart: axes, the clipped marks, decorations, then the legend on top. */
export function composeChart(axes: Axes, marks: readonly string[], legend: LegendEntry[], placement: LegendPlacement,
  occupied: Array<[number, number]>): string {
  return [
    axes.begin(),
    axes.clip(marks.join('\n')),
    axes.decorations(),
    renderLegend(legend, placement, axes.plot, occupied),
    axes.end(),
  ].join('\n');
}

import { escapeXml } from './escape.js';
import { formatTick, niceTicks, type Ticks } from './ticks.js';
import { px } from './chart-options.js';
import { textWidth } from './text-width.js';

/** Font sizes and colours shared by every chart, close to matplotlib's defaults at 100 dpi. */
export const STYLE = {
  fontFamily: "'DejaVu Sans', Verdana, Arial, Helvetica, sans-serif",
  titleSize: 16,
  labelSize: 14,
  tickSize: 12,
  legendSize: 12,
  tickLength: 5,
  axisColor: '#000000',
  gridColor: '#b0b0b0',
  textColor: '#222222',
} as const;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface AxesSpec {
  width: number;
  height: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xDomain: readonly [number, number];
  yDomain: readonly [number, number];
  /** Integer-valued x (epochs): never put ticks between integers. */
  xIntegerTicks?: boolean;
  grid?: boolean;
}

/**
 * One set of axes: lays out the plot area from the tick labels and titles, maps data to pixels,
 * and draws everything except the data and the legend.
 */
export class Axes {
  readonly plot: Rect;
  private readonly xTicks: Ticks;
  private readonly yTicks: Ticks;

  constructor(private readonly spec: AxesSpec) {
    const [x0, x1] = spec.xDomain;
    const [y0, y1] = spec.yDomain;
    this.xTicks = niceTicks(x0, x1, Math.max(3, Math.round(spec.width / 100)), spec.xIntegerTicks === true);
    this.yTicks = niceTicks(y0, y1, Math.max(3, Math.round(spec.height / 80)));
    const yTickWidth = Math.max(0, ...this.yTicks.values.map((v) => textWidth(formatTick(v, this.yTicks.step), STYLE.tickSize)));
    const lastXLabel = this.xTicks.values.length ? formatTick(this.xTicks.values.at(-1)!, this.xTicks.step) : '';
    const left = 12 + (spec.yLabel ? STYLE.labelSize + 10 : 0) + yTickWidth + STYLE.tickLength + 4;
    const top = spec.title ? STYLE.titleSize + 22 : 16;
    const bottom = STYLE.tickLength + 6 + STYLE.tickSize + (spec.xLabel ? STYLE.labelSize + 12 : 0) + 10;
    // Leave room for half of the last x tick label, which is centred on the right edge.
    const right = Math.max(20, textWidth(lastXLabel, STYLE.tickSize) / 2 + 6);
    this.plot = {
      left,
      top,
      width: Math.max(20, spec.width - left - right),
      height: Math.max(20, spec.height - top - bottom),
    };
  }

  x(value: number): number {
    const [a, b] = this.spec.xDomain;
    return this.plot.left + ((value - a) / (b - a)) * this.plot.width;
  }

  y(value: number): number {
    const [a, b] = this.spec.yDomain;
    return this.plot.top + this.plot.height - ((value - a) / (b - a)) * this.plot.height;
  }

  /** Opening tag of the SVG document, a white page and the grid (drawn under the data). */
  begin(): string {
    const { width, height, title } = this.spec;
    const out = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${STYLE.fontFamily}">`,
    ];
    if (title) out.push(`<title>${escapeXml(title)}</title>`);
    out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
    if (this.spec.grid !== false) out.push(this.gridLines());
    return out.join('\n');
  }

  /**
   * Wraps data marks in a nested <svg> viewport with the plot area's own coordinates: it clips
   * whatever falls outside the axes without clipPath ids, which would clash when several charts
   * are inlined into one HTML page.
   */
  clip(content: string): string {
    const { left, top, width, height } = this.plot;
    const box = `${px(left)} ${px(top)} ${px(width)} ${px(height)}`;
    return `<svg x="${px(left)}" y="${px(top)}" width="${px(width)}" height="${px(height)}" viewBox="${box}" overflow="hidden">\n${content}\n</svg>`;
  }

  /** Spines, ticks, tick labels, axis labels and title, drawn over the data; closes nothing. */
  decorations(): string {
    const { left, top, width, height } = this.plot;
    const bottom = top + height;
    const t = STYLE.tickLength;
    const out: string[] = [];
    out.push(`<g class="axes" stroke="${STYLE.axisColor}" stroke-width="1" fill="none">`);
    out.push(`<rect x="${px(left)}" y="${px(top)}" width="${px(width)}" height="${px(height)}"/>`);
    const tickPath = [
      ...this.xTicks.values.map((v) => `M${px(this.x(v))} ${px(bottom)}v${t}`),
      ...this.yTicks.values.map((v) => `M${px(left)} ${px(this.y(v))}h${-t}`),
    ].join('');
    if (tickPath) out.push(`<path class="ticks" d="${tickPath}"/>`);
    out.push('</g>');
    out.push(`<g class="tick-labels" fill="${STYLE.textColor}" font-size="${STYLE.tickSize}">`);
    for (const v of this.xTicks.values) {
      out.push(`<text x="${px(this.x(v))}" y="${px(bottom + t + 4 + STYLE.tickSize * 0.8)}" text-anchor="middle">${escapeXml(formatTick(v, this.xTicks.step))}</text>`);
    }
    for (const v of this.yTicks.values) {
      out.push(`<text x="${px(left - t - 4)}" y="${px(this.y(v) + STYLE.tickSize * 0.35)}" text-anchor="end">${escapeXml(formatTick(v, this.yTicks.step))}</text>`);
    }
    out.push('</g>');
    if (this.spec.xLabel) {
      const y = this.spec.height - 12;
      out.push(`<text class="x-label" x="${px(left + width / 2)}" y="${px(y)}" text-anchor="middle" font-size="${STYLE.labelSize}" fill="${STYLE.textColor}">${escapeXml(this.spec.xLabel)}</text>`);
    }
    if (this.spec.yLabel) {
      const x = 12 + STYLE.labelSize * 0.8;
      const y = top + height / 2;
      out.push(`<text class="y-label" x="${px(x)}" y="${px(y)}" text-anchor="middle" transform="rotate(-90 ${px(x)} ${px(y)})" font-size="${STYLE.labelSize}" fill="${STYLE.textColor}">${escapeXml(this.spec.yLabel)}</text>`);
    }
    if (this.spec.title) {
      out.push(`<text class="chart-title" x="${px(left + width / 2)}" y="${px(top - 12)}" text-anchor="middle" font-size="${STYLE.titleSize}" fill="${STYLE.textColor}">${escapeXml(this.spec.title)}</text>`);
    }
    return out.join('\n');
  }

  end(): string {
    return '</svg>\n';
  }

  private gridLines(): string {
    const { left, top, width, height } = this.plot;
    const d = [
      ...this.xTicks.values.map((v) => `M${px(this.x(v))} ${px(top)}v${px(height)}`),
      ...this.yTicks.values.map((v) => `M${px(left)} ${px(this.y(v))}h${px(width)}`),
    ].join('');
    return d ? `<path class="grid" d="${d}" stroke="${STYLE.gridColor}" stroke-width="0.8" stroke-opacity="0.5" fill="none"/>` : '';
  }
}

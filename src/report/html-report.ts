import { writeFileAtomic } from '../util/atomic-write.js';
import { resolveTable, type Row, type TableOptions } from '../util/table.js';
import { escapeXml } from './escape.js';

export interface HtmlReportOptions {
  title: string;
  subtitle?: string;
  /** Shown under the title; default now. Pass null to omit (reproducible output). */
  generatedAt?: Date | string | null;
}

export interface ReportTableOptions extends TableOptions {
  heading?: string;
  caption?: string;
  /** Bold the best value of a numeric column, e.g. `{ column: 'best_val_acc', best: 'max' }`. */
  highlight?: { column: string; best: 'max' | 'min' };
}

export interface ReportFigureOptions {
  caption?: string;
  heading?: string;
}

const STYLES = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; color: #1f2328;
  margin: 0 auto; padding: 24px 32px 48px; max-width: 1040px; line-height: 1.5; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 8px; }
h1 { font-size: 1.8em; margin: 0.2em 0; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #eaeef2; padding-bottom: 0.2em; }
.subtitle { font-size: 1.1em; color: #57606a; margin: 0 0 0.3em; }
.meta { color: #57606a; font-size: 0.9em; margin: 0 0 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
caption { caption-side: bottom; text-align: left; color: #57606a; padding-top: 0.4em; font-size: 0.95em; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: 700; background: #dafbe1; }
table.config td:first-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; color: #57606a; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: 0.95em; margin-top: 0.3em; }
.notes p { margin: 0.5em 0; white-space: normal; }
.thumbs { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; margin: 0.6em 0 1.2em; }
.thumbs .label { width: 100%; font-size: 0.95em; margin: 0; }
.thumbs figure { margin: 0; text-align: center; font-size: 0.8em; color: #57606a; max-width: 140px; word-break: break-all; }
.thumbs img { image-rendering: pixelated; border: 1px solid #d0d7de; display: block; margin: 0 auto 2px; }
.thumbs figure.flagged img { border: 3px solid #cf222e; }
`;

/** A thumbnail for HtmlReport.imageRows: a data: URI of a PNG, JPEG or WebP image. */
export interface ReportImage {
  src: string;
  caption: string;
  /** Drawn with a red border. */
  flagged?: boolean;
  /** Displayed width in CSS pixels (default 96). */
  width?: number;
}

const DATA_URI = /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+=*$/;

/** Flattens nested config objects into dotted keys (`optimizer.lr`), the way people refer to them. */
export function flattenConfig(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) return [[prefix, '{}']];
    return entries.flatMap(([k, v]) => flattenConfig(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

function configText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Accepts an SVG document for inlining only if it cannot run code or fetch anything: the report
 * must stay self-contained and safe to open from a results folder.
 */
export function sanitizeSvgForInline(svg: string): string {
  if (typeof svg !== 'string') throw new TypeError(`Expected an SVG document string for svg but received ${typeof svg}`);
  const body = svg.replace(/^\uFEFF?\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?/i, '').trim();
  if (!/^<svg[\s>]/i.test(body) || !/<\/svg>$/i.test(body)) {
    throw new TypeError(`Expected an SVG document (<svg …>…</svg>) for svg but received ${JSON.stringify(body.slice(0, 40))}`);
  }
  const forbidden: Array<[RegExp, string]> = [
    [/<script\b/i, 'a <script> element'],
    [/<foreignObject\b/i, 'a <foreignObject> element'],
    [/\son[a-z]+\s*=/i, 'an event-handler attribute'],
    [/(?:href|src)\s*=\s*["']?\s*(?:javascript:|https?:|\/\/)/i, 'an external or javascript: link'],
  ];
  for (const [pattern, what] of forbidden) {
    if (pattern.test(body)) throw new Error(`Expected a self-contained SVG without scripts for svg but it contains ${what}`);
  }
  return body;
}

function notesHtml(text: string): string {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${escapeXml(p).replace(/\r?\n/g, '<br>')}</p>`)
    .join('\n');
}

/**
 * Builds a self-contained HTML report (no external assets): title, configuration, result tables,
 * inline SVG figures with captions and notes, in the order added. All text is escaped.
 */
export class HtmlReport {
  private readonly parts: string[] = [];
  private readonly options: HtmlReportOptions;

  constructor(options: HtmlReportOptions) {
    if (options === null || typeof options !== 'object' || typeof options.title !== 'string' || options.title.trim() === '') {
      throw new TypeError(`Expected a non-empty string for options.title but received ${JSON.stringify(options?.title)}`);
    }
    this.options = options;
  }

  heading(text: string): this {
    this.parts.push(`<h2>${escapeXml(text)}</h2>`);
    return this;
  }

  /** A key/value table of the run's settings; nested objects become dotted keys. */
  config(config: Readonly<Record<string, unknown>>, options: { heading?: string } = {}): this {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new TypeError(`Expected an object for config but received ${JSON.stringify(config)}`);
    }
    const rows = flattenConfig(config).map(
      ([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(configText(v))}</td></tr>`,
    );
    this.heading(options.heading ?? 'Configuration');
    this.parts.push(`<table class="config"><tbody>\n${rows.join('\n')}\n</tbody></table>`);
    return this;
  }

  /** A result table from row objects; numbers are formatted and right-aligned. */
  table(rows: readonly Row[], options: ReportTableOptions = {}): this {
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new TypeError(`Expected a non-empty array of row objects for rows but received ${Array.isArray(rows) ? '[]' : typeof rows}`);
    }
    const t = resolveTable(rows, options);
    const columnKeys = (options.columns ?? t.headers).map((c) => (typeof c === 'string' ? c : c.key));
    let bestRow = -1;
    let bestCol = -1;
    if (options.highlight) {
      bestCol = columnKeys.indexOf(options.highlight.column);
      if (bestCol < 0) {
        throw new RangeError(`Expected highlight.column to be one of ${columnKeys.join(', ')} but received ${JSON.stringify(options.highlight.column)}`);
      }
      const sign = options.highlight.best === 'min' ? -1 : 1;
      let best = -Infinity;
      rows.forEach((r, i) => {
        const v = r[options.highlight!.column];
        if (typeof v === 'number' && Number.isFinite(v) && sign * v > best) {
          best = sign * v;
          bestRow = i;
        }
      });
    }
    const cls = (j: number) => (t.align[j] === 'right' ? ' class="num"' : '');
    const head = t.headers.map((h, j) => `<th${cls(j)}>${escapeXml(h)}</th>`).join('');
    const body = t.cells.map(
      (row, i) =>
        `<tr>${row
          .map((c, j) => {
            const classes = [t.align[j] === 'right' ? 'num' : '', i === bestRow && j === bestCol ? 'best' : ''].filter(Boolean);
            return `<td${classes.length ? ` class="${classes.join(' ')}"` : ''}>${escapeXml(c)}</td>`;
          })
          .join('')}</tr>`,
    );
    if (options.heading) this.heading(options.heading);
    const caption = options.caption ? `<caption>${escapeXml(options.caption)}</caption>\n` : '';
    this.parts.push(`<table class="results">\n${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody></table>`);
    return this;
  }

  /** An inline SVG figure (e.g. from `lineChart`) with an optional caption. */
  figure(svg: string, options: ReportFigureOptions = {}): this {
    const inline = sanitizeSvgForInline(svg);
    if (options.heading) this.heading(options.heading);
    const caption = options.caption ? `\n<figcaption>${escapeXml(options.caption)}</figcaption>` : '';
    this.parts.push(`<figure>\n${inline}${caption}\n</figure>`);
    return this;
  }

  /** Rows of thumbnails, each with a label, e.g. a flagged image beside its nearest normal training images. */
  imageRows(rows: ReadonlyArray<{ label: string; images: readonly ReportImage[] }>, options: { heading?: string } = {}): this {
    if (options.heading) this.heading(options.heading);
    for (const row of rows) {
      const figures = row.images.map((im) => {
        if (typeof im.src !== 'string' || !DATA_URI.test(im.src)) {
          throw new TypeError(`Expected a base64 data: URI of a PNG, JPEG or WebP image but received ${JSON.stringify(String(im.src).slice(0, 40))}`);
        }
        const width = im.width ?? 96;
        return `<figure${im.flagged ? ' class="flagged"' : ''}><img src="${im.src}" width="${width}" alt="${escapeXml(im.caption)}">${escapeXml(im.caption)}</figure>`;
      });
      this.parts.push(`<div class="thumbs">\n<p class="label">${escapeXml(row.label)}</p>\n${figures.join('\n')}\n</div>`);
    }
    return this;
  }

  /** Free text; blank lines separate paragraphs. */
  notes(text: string, options: { heading?: string } = {}): this {
    if (typeof text !== 'string') throw new TypeError(`Expected a string for text but received ${typeof text}`);
    if (options.heading) this.heading(options.heading);
    this.parts.push(`<div class="notes">\n${notesHtml(text)}\n</div>`);
    return this;
  }

  toHtml(): string {
    const { title, subtitle } = this.options;
    const generated = this.options.generatedAt === undefined ? new Date() : this.options.generatedAt;
    const when = generated === null ? '' : typeof generated === 'string' ? generated : generated.toISOString();
    const header = [
      `<h1>${escapeXml(title)}</h1>`,
      subtitle ? `<p class="subtitle">${escapeXml(subtitle)}</p>` : '',
      when ? `<p class="meta">Generated ${escapeXml(when)}</p>` : '',
    ].filter(Boolean);
    return [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeXml(title)}</title>`,
      `<style>${STYLES}</style>`,
      '</head>',
      '<body>',
      `<header>\n${header.join('\n')}\n</header>`,
      '<main>',
      ...this.parts,
      '</main>',
      '</body>',
      '</html>',
      '',
    ].join('\n');
  }

  /** Writes the report atomically, so a browser refreshing it never sees half a file. */
  async write(path: string): Promise<void> {
    await writeFileAtomic(path, this.toHtml());
  }
}

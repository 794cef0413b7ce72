import { printable } from './printable.js';
import { formatValue } from './format-number.js';

export type Row = Readonly<Record<string, unknown>>;
export type Alignment = 'left' | 'right';

export interface ColumnSpec {
  /** Property read from each row. */
  key: string;
  /** Header text (default: the key). */
  header?: string;
  /** Decimals for non-integer numbers (default: the table's `digits`). */
  digits?: number;
  /** Default: right for columns whose values are all numbers (or empty), left otherwise. */
  align?: Alignment;
  /** Custom cell text; overrides number formatting. */
  format?: (value: unknown, row: Row) => string;
}

export interface TableOptions {
  /** Columns in order; strings are keys. Default: every key, in order of first appearance. */
  columns?: ReadonlyArray<string | ColumnSpec>;
  /** Decimals for non-integer numbers (default 4). */
  digits?: number;
}

interface ResolvedTable {
  headers: string[];
  cells: string[][];
  align: Alignment[];
}

function checkRows(rows: unknown): asserts rows is Row[] {
  if (!Array.isArray(rows)) {
    throw new TypeError(`Expected an array of row objects for rows but received ${typeof rows}`);
  }
  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new TypeError(`Expected an object for rows[${i}] but received ${JSON.stringify(row)}`);
    }
  });
}

function resolveColumns(rows: Row[], columns: TableOptions['columns']): ColumnSpec[] {
  if (columns !== undefined) {
    if (!Array.isArray(columns) || columns.length === 0) {
      throw new TypeError(`Expected a non-empty array for columns but received ${JSON.stringify(columns)}`);
    }
    return columns.map((c) => (typeof c === 'string' ? { key: c } : c));
  }
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return [...keys].map((key) => ({ key }));
}

/** Shared by the text, markdown and HTML renderers so every output formats cells the same way. */
export function resolveTable(rows: readonly Row[], options: TableOptions = {}): ResolvedTable {
  checkRows(rows);
  const digits = options.digits ?? 4;
  const columns = resolveColumns(rows, options.columns);
  const headers = columns.map((c) => c.header ?? c.key);
  const cells = rows.map((row) =>
    columns.map((c) => (c.format ? c.format(row[c.key], row) : formatValue(row[c.key], c.digits ?? digits))),
  );
  const align = columns.map((c): Alignment => {
    if (c.align) return c.align;
    const values = rows.map((r) => r[c.key]).filter((v) => v !== undefined && v !== null);
    return values.length > 0 && values.every((v) => typeof v === 'number' || typeof v === 'bigint')
      ? 'right'
      : 'left';
  });
  return { headers, cells, align };
}

function pad(text: string, width: number, align: Alignment): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

function columnWidths(t: ResolvedTable): number[] {
  return t.headers.map((h, j) => Math.max(h.length, ...t.cells.map((row) => row[j]!.length)));
}

/**
 * An aligned plain-text table for terminals:
 * ```
 * head       best_val_acc  epoch
 * ---------  ------------  -----
 * softmax          0.8123     41
 * ```
 */
export function formatTable(rows: readonly Row[], options: TableOptions = {}): string {
  const resolved = resolveTable(rows, options);
  // Cells may hold file names: no control character reaches the terminal.
  const t: ResolvedTable = { headers: resolved.headers.map(printable), cells: resolved.cells.map((r) => r.map(printable)), align: resolved.align };
  const widths = columnWidths(t);
  const line = (cells: string[]) =>
    cells.map((c, j) => pad(c, widths[j]!, t.align[j]!)).join('  ').trimEnd();
  return [line(t.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...t.cells.map(line)].join('\n');
}

function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub-flavoured markdown table, padded so it also reads well as source. */
export function formatMarkdownTable(rows: readonly Row[], options: TableOptions = {}): string {
  const t = resolveTable(rows, options);
  const escaped: ResolvedTable = {
    headers: t.headers.map(escapeMarkdownCell),
    cells: t.cells.map((r) => r.map(escapeMarkdownCell)),
    align: t.align,
  };
  const widths = columnWidths(escaped).map((w) => Math.max(w, 3));
  const line = (cells: string[]) => `| ${cells.map((c, j) => pad(c, widths[j]!, t.align[j]!)).join(' | ')} |`;
  const rule = `|${widths.map((w, j) => (t.align[j] === 'right' ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(escaped.headers), rule, ...escaped.cells.map(line)].join('\n');
}

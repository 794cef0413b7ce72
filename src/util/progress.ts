import { formatCompact } from './format-number.js';
import { formatDuration } from './format-duration.js';

/** The part of a writable stream the progress bar uses; `process.stderr` satisfies it. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressFields = Readonly<Record<string, number | string>>;

export interface ProgressOptions {
  /** Units of work expected; leave undefined when unknown (no bar, percent or ETA then). */
  total?: number;
  /** Text before the bar, e.g. "epoch 3/20". */
  label?: string;
  /** Unit of the rate, e.g. "img" gives "812 img/s" (default "it"). */
  unit?: string;
  /** Where to draw (default `process.stderr`, so stdout stays clean for results). */
  stream?: ProgressStream;
  /** Force the updating single-line mode on or off (default: `stream.isTTY`). */
  tty?: boolean;
  /** Clock in milliseconds (default `performance.now`); injectable for tests. */
  now?: () => number;
  /** Plain mode: print at least this often while work advances (default 30 s). */
  plainEverySeconds?: number;
  /** Plain mode: also print each time this percentage step is crossed (default 10). */
  plainEveryPercent?: number;
  /** TTY mode: redraw at most this often (default 100 ms) so drawing never slows the work. */
  redrawEveryMs?: number;
  /** TTY mode: line width (default `stream.columns`, else 100). */
  columns?: number;
}

function checkPositive(name: string, value: number | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    const expected = allowZero ? 'a finite number >= 0' : 'a finite number > 0';
    throw new RangeError(`Expected ${expected} for ${name} but received ${String(value)}`);
  }
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  if (perSecond >= 100) return perSecond.toFixed(0);
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

function formatFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatCompact(v, 4) : v}`)
    .join(' ');
}

/**
 * A progress display for long work (epochs, embedding extraction). On a terminal it redraws one
 * line with bar, count, percent, elapsed, ETA, rate and custom fields. Elsewhere (CI logs, files)
 * carriage returns would pile up, so it prints plain lines every `plainEveryPercent` percent or
 * `plainEverySeconds` seconds, plus a final line from `finish()`.
 */
export class ProgressBar {
  readonly total: number | undefined;
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly plainEveryMs: number;
  private readonly plainEveryPercent: number;
  private readonly redrawEveryMs: number;
  private readonly columns: number;
  private readonly startMs: number;
  private count = 0;
  private fields: Record<string, number | string> = {};
  private lastDrawMs = -Infinity;
  private lastPlainMs: number;
  private lastPlainStep = 0;
  private finished = false;

  constructor(options: ProgressOptions = {}) {
    checkPositive('total', options.total, true);
    checkPositive('plainEverySeconds', options.plainEverySeconds, false);
    checkPositive('plainEveryPercent', options.plainEveryPercent, false);
    checkPositive('redrawEveryMs', options.redrawEveryMs, true);
    checkPositive('columns', options.columns, false);
    this.total = options.total;
    this.label = options.label ?? '';
    this.unit = options.unit ?? 'it';
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.plainEveryMs = (options.plainEverySeconds ?? 30) * 1000;
    this.plainEveryPercent = options.plainEveryPercent ?? 10;
    this.redrawEveryMs = options.redrawEveryMs ?? 100;
    this.columns = Math.floor(options.columns ?? this.stream.columns ?? 100);
    this.startMs = this.now();
    this.lastPlainMs = this.startMs;
  }

  /** Advances by `n` units and merges `fields` (e.g. `{ loss: 0.69 }`) into the shown fields. */
  tick(n = 1, fields?: ProgressFields): void {
    checkPositive('n', n, true);
    this.update(this.count + n, fields);
  }

  /** Sets the absolute count. */
  update(count: number, fields?: ProgressFields): void {
    checkPositive('count', count, true);
    if (this.finished) return;
    this.count = count;
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDrawMs >= this.redrawEveryMs || count === this.total) this.draw(t);
    } else {
      this.maybePrintPlain(t);
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.tty && !this.finished) {
      this.stream.write(`\r\x1b[K${message}\n`);
      this.draw(this.now());
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Draws the final state and ends the line; later calls are ignored (safe in `finally`). */
  finish(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    this.finished = true;
    if (this.tty) {
      this.draw(t);
      this.stream.write('\n');
    } else {
      this.stream.write(`${this.plainLine(t, true)}\n`);
    }
  }

  /** Seconds since the bar was created. */
  elapsedSeconds(): number {
    return (this.now() - this.startMs) / 1000;
  }

  private percent(): number | undefined {
    if (this.total === undefined) return undefined;
    if (this.total === 0) return 100;
    return Math.min(100, (100 * this.count) / this.total);
  }

  private stats(t: number) {
    const elapsed = (t - this.startMs) / 1000;
    const rate = elapsed > 0 ? this.count / elapsed : NaN;
    const remaining = this.total === undefined ? NaN : Math.max(0, this.total - this.count);
    const eta = remaining === 0 ? 0 : rate > 0 ? remaining / rate : NaN;
    return { elapsed, rate, eta };
  }

  private maybePrintPlain(t: number): void {
    const percent = this.percent();
    const step = percent === undefined ? 0 : Math.floor(percent / this.plainEveryPercent);
    const crossedStep = step > this.lastPlainStep;
    const timeUp = t - this.lastPlainMs >= this.plainEveryMs;
    if (!crossedStep && !timeUp) return;
    this.lastPlainStep = Math.max(step, this.lastPlainStep);
    this.lastPlainMs = t;
    this.stream.write(`${this.plainLine(t, false)}\n`);
  }

  private plainLine(t: number, done: boolean): string {
    const { elapsed, rate, eta } = this.stats(t);
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    const percent = this.percent();
    const count = this.total === undefined ? `${this.count}` : `${this.count}/${this.total}`;
    parts.push(percent === undefined ? count : `${count} (${percent.toFixed(0)}%)`);
    if (done) {
      parts.push(`done in ${formatDuration(elapsed)}`);
    } else {
      parts.push(`elapsed ${formatDuration(elapsed)}`);
      if (this.total !== undefined) parts.push(`eta ${formatDuration(eta)}`);
    }
    parts.push(`${formatRate(rate)} ${this.unit}/s`);
    const fields = formatFields(this.fields);
    if (fields) parts.push(fields);
    return parts.join(' ');
  }

  private draw(t: number): void {
    this.lastDrawMs = t;
    this.stream.write(`\r${this.ttyLine(t)}\x1b[K`);
  }

  private ttyLine(t: number): string {
    const { elapsed, rate, eta } = this.stats(t);
    const percent = this.percent();
    const prefix = this.label ? `${this.label}: ` : '';
    const timing =
      this.total === undefined
        ? `[${formatDuration(elapsed)}, ${formatRate(rate)} ${this.unit}/s]`
        : `[${formatDuration(elapsed)}<${formatDuration(eta)}, ${formatRate(rate)} ${this.unit}/s]`;
    const count = this.total === undefined ? `${this.count}` : `${this.count}/${this.total}`;
    const fields = formatFields(this.fields);
    const tail = `${count} ${timing}${fields ? ` ${fields}` : ''}`;
    if (percent === undefined) return this.fit(`${prefix}${tail}`);
    const pct = `${percent.toFixed(0).padStart(3)}%`;
    // The bar takes what is left of the line, within reason; with no room it is dropped.
    const room = this.columns - 1 - prefix.length - pct.length - tail.length - 4;
    const barWidth = Math.min(40, room);
    if (barWidth < 5) return this.fit(`${prefix}${pct} ${tail}`);
    const filled = Math.floor((barWidth * percent) / 100);
    const bar = '█'.repeat(filled) + ' '.repeat(barWidth - filled);
    return this.fit(`${prefix}${pct} |${bar}| ${tail}`);
  }

  /** A line longer than the terminal wraps, and `\r` then redraws only its last part. */
  private fit(line: string): string {
    const max = Math.max(10, this.columns - 1);
    return line.length <= max ? line : line.slice(0, max);
  }
}

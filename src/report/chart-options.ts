export type LegendPlacement = 'best' | 'upper right' | 'upper left' | 'lower left' | 'lower right' | 'none';

/** Options every chart accepts. */
export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Pixels (default 640 × 480, matplotlib's default figure at 100 dpi). */
  width?: number;
  height?: number;
  /** Fixed axis ranges; by default the data range plus a 5% margin. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** Where the legend goes; "best" picks the corner covering the fewest data (default). */
  legend?: LegendPlacement;
  /** Light grid lines at the ticks (default true). */
  grid?: boolean;
}

const PLACEMENTS: readonly LegendPlacement[] = ['best', 'upper right', 'upper left', 'lower left', 'lower right', 'none'];

export function checkChartOptions(options: ChartOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected an object for options but received ${JSON.stringify(options)}`);
  }
  for (const key of ['width', 'height'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 100 || v > 10000)) {
      throw new RangeError(`Expected integer between 100 and 10000 for ${key} but received ${v}`);
    }
  }
  for (const key of ['xDomain', 'yDomain'] as const) {
    const d = options[key];
    if (d === undefined) continue;
    if (!Array.isArray(d) || d.length !== 2 || !Number.isFinite(d[0]) || !Number.isFinite(d[1]) || !(d[1] > d[0])) {
      throw new RangeError(`Expected [min, max] with finite min < max for ${key} but received ${JSON.stringify(d)}`);
    }
  }
  for (const key of ['title', 'xLabel', 'yLabel'] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== 'string') {
      throw new TypeError(`Expected a string for ${key} but received ${typeof v}`);
    }
  }
  if (options.legend !== undefined && !PLACEMENTS.includes(options.legend)) {
    throw new RangeError(`Expected one of ${PLACEMENTS.join(', ')} for legend but received ${JSON.stringify(options.legend)}`);
  }
}

/** Checks a series' numeric array: present and non-empty (NaN entries are allowed and skipped). */
export function checkNumberArray(name: string, values: unknown): asserts values is readonly number[] {
  if (!(Array.isArray(values) || ArrayBuffer.isView(values)) || (values as ArrayLike<unknown>).length === 0) {
    const got = Array.isArray(values) ? '[]' : values === undefined ? 'undefined' : typeof values;
    throw new TypeError(`Expected a non-empty array of numbers for ${name} but received ${got}`);
  }
  const arr = values as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++) {
    if (typeof arr[i] !== 'number') {
      throw new TypeError(`Expected a number for ${name}[${i}] but received ${typeof arr[i]}`);
    }
  }
}

export function checkSeriesList(name: string, list: unknown): asserts list is readonly { label: string }[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`Expected a non-empty array for ${name} but received ${Array.isArray(list) ? '[]' : typeof list}`);
  }
  list.forEach((s, i) => {
    if (s === null || typeof s !== 'object') {
      throw new TypeError(`Expected an object for ${name}[${i}] but received ${JSON.stringify(s)}`);
    }
    if (typeof (s as { label?: unknown }).label !== 'string') {
      throw new TypeError(`Expected a string for ${name}[${i}].label but received ${typeof (s as { label?: unknown }).label}`);
    }
  });
}

/** Data range padded by `margin` of its span; a zero span gets a small symmetric range instead. */
export function paddedDomain(min: number, max: number, margin = 0.05): [number, number] {
  // A span lost in floating-point noise (0.7 vs 0.70000001) would give unreadable ticks: treat it as constant.
  if (max - min > Math.max(Math.abs(min), Math.abs(max)) * 1e-9) {
    const pad = (max - min) * margin;
    return [min - pad, max + pad];
  }
  const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
  return [min - pad, max + pad];
}

/** Rounds pixel coordinates so the SVG stays small; 0.01 px is far below what anyone sees. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export interface Ticks {
  values: number[];
  step: number;
}

/**
 * "Nice" tick positions (steps of 1, 2, 2.5 or 5 times a power of ten) inside [min, max], aiming
 * for about `target` ticks, the way matplotlib's default locator does.
 */
export function niceTicks(min: number, max: number, target = 6, integerOnly = false): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(max > min)) {
    throw new RangeError(`Expected finite min < max for tick range but received [${min}, ${max}]`);
  }
  const rough = (max - min) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / magnitude;
  const factor = norm < 1.5 ? 1 : norm < 2.25 ? 2 : norm < 3.5 ? 2.5 : norm < 7.5 ? 5 : 10;
  let step = factor * magnitude;
  // Integer axes (epochs) take whole steps only: 2.5 becomes 2, anything below 1 becomes 1.
  if (integerOnly && !Number.isInteger(step)) step = Math.max(1, Math.floor(step));
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) {
    // Multiplying (not accumulating) and trimming keeps 0.1*3 from printing as 0.30000000000000004.
    values.push(Number((i * step).toPrecision(12)));
  }
  return { values, step };
}

/** Decimals needed to write multiples of `step` exactly: 0.1 → 1, 0.25 → 2, 5 → 0. */
function stepDecimals(step: number): number {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return Math.abs(Number(step.toFixed(decimals)) - step) > step * 1e-6 ? decimals + 1 : decimals;
}

/**
 * Formats tick labels with just enough digits for the step, so neighbouring labels always differ;
 * exponent form only for very large or very small magnitudes.
 */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const magnitude = Math.max(Math.abs(value), step);
  let text: string;
  if (magnitude >= 1e6 || magnitude < 1e-4) {
    const p = Math.floor(Math.log10(Math.abs(value))) - Math.floor(Math.log10(step)) + (stepDecimals(step / 10 ** Math.floor(Math.log10(step))) > 0 ? 1 : 0);
    text = value.toExponential(Math.min(15, Math.max(0, p))).replace(/\.?0+e/, 'e');
  } else {
    text = value.toFixed(stepDecimals(step));
  }
  // A typographic minus, as matplotlib draws it: a hyphen looks too short next to digits.
  return text.replace(/^-/, '\u2212');
}

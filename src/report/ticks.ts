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
  if (integerOnly && step < 1) step = 1;
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) {
    // Multiplying (not accumulating) and trimming keeps 0.1*3 from printing as 0.30000000000000004.
    values.push(Number((i * step).toPrecision(12)));
  }
  return { values, step };
}

/** Formats tick labels with just enough decimals for the step, so labels in one axis agree. */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const magnitude = Math.max(Math.abs(value), step);
  if (magnitude >= 1e6 || step < 1e-5) return value.toExponential(2).replace(/\.?0+e/, 'e').replace(/^-/, '\u2212');
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  // A step like 0.25 or 2.5 needs one decimal more than its power of ten suggests.
  const needed = Math.abs(Number(step.toFixed(decimals)) - step) > step * 1e-6 ? decimals + 1 : decimals;
  // A typographic minus, as matplotlib draws it: a hyphen looks too short next to digits.
  return value.toFixed(needed).replace(/^-/, '\u2212');
}

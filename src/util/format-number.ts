/**
 * Formats one value for a table cell or a report: integers as they are, other finite numbers with a
 * fixed number of decimals (so a column's decimal points line up), very large or very small
 * magnitudes in exponent form, and NaN/±Infinity spelled out rather than hidden.
 */
export function formatValue(value: unknown, digits = 4): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
    throw new RangeError(`Expected integer between 0 and 20 for digits but received ${digits}`);
  }
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return formatNumber(value, digits);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => formatValue(v, digits)).join(', ');
  return JSON.stringify(value) ?? String(value);
}

export function formatNumber(value: number, digits = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toString();
  const magnitude = Math.abs(value);
  if (magnitude >= 1e9 || (magnitude !== 0 && magnitude < 10 ** -digits)) {
    return value.toExponential(Math.max(digits - 1, 1));
  }
  return value.toFixed(digits);
}

/** Shortest readable form with about `significant` significant digits: for progress fields and tick-like labels. */
export function formatCompact(value: number, significant = 4): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || magnitude < 1e-4) return value.toExponential(significant - 1).replace(/\.?0+e/, 'e');
  const text = value.toPrecision(significant);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

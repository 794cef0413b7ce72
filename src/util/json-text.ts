// JSON for what deepmetric saves (checkpoint configs, histories, manifests): a value JSON cannot
// hold is an error naming the field, not "Converting circular structure to JSON" or "Do not know
// how to serialize a BigInt" from deep inside a save.

/** The path of the first value under `value` that JSON cannot represent, with why; or null. */
function unsavable(value: unknown, at: string, seen: Set<object>): string | null {
  const field = at === '' ? 'it' : `field ${at.replace(/^\./, '')}`;
  if (typeof value === 'bigint') return `${field} is a BigInt (${value}n); use a number or a string`;
  if (typeof value === 'function' || typeof value === 'symbol') return null; // JSON drops them, as it always has
  if (value === null || typeof value !== 'object') return null;
  if (seen.has(value)) return `${field} refers back to an object that contains it (a circular structure)`;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return null;
  seen.add(value);
  for (const [key, v] of Object.entries(value)) {
    const found = unsavable(v, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`, seen);
    if (found) return found;
  }
  seen.delete(value);
  return null;
}

/** JSON.stringify, with an Error naming `what` and the offending field when it cannot be done. */
export function jsonText(value: unknown, what: string, space?: number): string {
  try {
    return JSON.stringify(value, null, space);
  } catch (e) {
    const why = unsavable(value, '', new Set()) ?? (e as Error).message;
    throw new TypeError(`cannot save ${what} as JSON: ${why}`, { cause: e });
  }
}

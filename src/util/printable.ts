// Text from outside (file names, archive entry names, manifest fields) shown on a terminal or in a
// spreadsheet: control characters could move the cursor, recolour or clear the screen, bidi
// overrides could make `evil.exe` read as `exe.live`, and a CSV cell starting with '=' is a formula.

// C0 and C1 controls, DEL, and the Unicode bidirectional embeddings, overrides, isolates and marks.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control or bidi-control character shown as a visible escape (\x1b, \u202e). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * One CSV cell (RFC 4180 quoting). A text cell that a spreadsheet would run as a formula (starting
 * with =, +, -, @, tab or carriage return) gets a leading apostrophe, as OWASP advises; numbers are
 * written as they are.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Approximate rendered width of `text` in a sans-serif font. SVG has no text metrics without a
 * renderer; DejaVu Sans (wider than Arial) averages about 0.6 em per character, digits 0.64, so this
 * errs on the wide side and layouts leave room rather than overlap.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) {
    if (/[0-9]/.test(ch)) em += 0.64;
    else if (/[ilj.,:;'|!]/.test(ch)) em += 0.3;
    else if (/[MWmw@%]/.test(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.7;
    else em += 0.6;
  }
  return em * fontSize;
}

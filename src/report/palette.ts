/**
 * Matplotlib's "tab10" colours, in its order: people reading the charts already know them, and
 * the first eight stay distinguishable (including for the common red-green colour deficiencies
 * between the pairs that matter most: blue/orange first).
 */
export const PALETTE: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Dash patterns used once the colours run out, so series 11+ still differ from 1+. */
const DASHES: readonly (string | undefined)[] = [undefined, '6 3', '2 2', '8 3 2 3'];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

export function seriesDash(index: number): string | undefined {
  return DASHES[Math.floor(index / PALETTE.length) % DASHES.length];
}

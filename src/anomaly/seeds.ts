// Results over several seeds: with about 1,000 test images per side one AUROC carries ≈ ±0.025 of
// noise, so methods are compared by the mean and spread over seeds, per head × score.

export interface SeedRow {
  seed: number;
  head: string;
  score: string;
  auroc: number;
  aupr: number;
  fpr_at_95_tpr: number;
}

export interface SeedSummary {
  head: string;
  score: string;
  /** The seeds this head × score was measured with, ascending. */
  seeds: number[];
  auroc_mean: number;
  /** Sample standard deviation over seeds (n − 1); null with a single seed. */
  auroc_std: number | null;
  aupr_mean: number;
  aupr_std: number | null;
  fpr_at_95_tpr_mean: number;
  fpr_at_95_tpr_std: number | null;
}

function meanStd(values: number[]): [number, number | null] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return [mean, null];
  return [mean, Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1))];
}

/** One summary per head × score, in the order each pair first appears; a seed repeated for a pair is an error. */
export function aggregateSeeds(rows: readonly SeedRow[]): SeedSummary[] {
  const groups = new Map<string, SeedRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.head, r.score]);
    const group = groups.get(key) ?? [];
    if (group.some((g) => g.seed === r.seed)) throw new RangeError(`Expected one row per seed for ${r.head} · ${r.score} but seed ${r.seed} appears twice`);
    group.push(r);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => {
    const [auroc_mean, auroc_std] = meanStd(g.map((r) => r.auroc));
    const [aupr_mean, aupr_std] = meanStd(g.map((r) => r.aupr));
    const [fpr_at_95_tpr_mean, fpr_at_95_tpr_std] = meanStd(g.map((r) => r.fpr_at_95_tpr));
    return { head: g[0].head, score: g[0].score, seeds: g.map((r) => r.seed).sort((a, b) => a - b), auroc_mean, auroc_std, aupr_mean, aupr_std, fpr_at_95_tpr_mean, fpr_at_95_tpr_std };
  });
}

/** '0.712 ± 0.013' (or just the mean when there is no spread). */
export function formatMeanStd(mean: number, std: number | null, digits = 3): string {
  return std === null ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}

// Score fusion: several anomaly scores, each z-normalised with the mean and standard deviation of
// its values on held-out NORMAL validation images, then summed. Scores on different scales (a
// distance, minus a logit, minus a log-probability) then count alike, and no anomaly image is
// needed to weigh them: an anomaly-free statistic keeps the protocol honest.

export interface ZStats {
  mean: number;
  /** Sample standard deviation (n − 1). */
  std: number;
  /** Validation images the statistics came from. */
  n: number;
}

/** Mean and sample standard deviation of one score's validation values. */
export function zStats(values: readonly number[], what = 'scores'): ZStats {
  if (values.length < 2) throw new RangeError(`Expected at least 2 normal validation values of ${what} to normalise it but received ${values.length}`);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new TypeError(`Expected finite validation values of ${what} but received ${values[bad]} at index ${bad}`);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  if (!(std > 0)) throw new RangeError(`Expected the normal validation values of ${what} to vary but all ${values.length} equal ${mean}: it cannot be z-normalised`);
  return { mean, std, n: values.length };
}

export class ScoreFusion {
  #stats: Map<string, ZStats> | null = null;

  /** validation: each component's scores of the held-out normal validation images (never test or anomaly images). */
  fit(validation: Readonly<Record<string, readonly number[]>>): this {
    const names = Object.keys(validation);
    if (names.length === 0) throw new RangeError('Expected at least one score to fuse but received none');
    this.#stats = new Map(names.map((name) => [name, zStats(validation[name], `'${name}'`)]));
    return this;
  }

  /** Restores statistics saved from `stats` (e.g. a detector file's). */
  restore(stats: Readonly<Record<string, ZStats>>): this {
    const names = Object.keys(stats);
    if (names.length === 0) throw new RangeError('Expected the statistics of at least one component but received none');
    for (const n of names) {
      const z = stats[n];
      if (!(z && Number.isFinite(z.mean) && z.std > 0 && Number.isFinite(z.std))) throw new TypeError(`Expected a finite mean and a positive std for '${n}' but received ${JSON.stringify(z)}`);
    }
    this.#stats = new Map(names.map((n) => [n, { ...stats[n] }]));
    return this;
  }

  /** The fitted statistics per component. */
  get stats(): Record<string, ZStats> {
    if (this.#stats === null) throw new Error('ScoreFusion: call fit(validation) before reading stats');
    return Object.fromEntries(this.#stats);
  }

  /** Σ over components of (score − mean) / std, per image; every fitted component must be given, for the same images. */
  fuse(scores: Readonly<Record<string, readonly number[]>>): number[] {
    if (this.#stats === null) throw new Error('ScoreFusion: call fit(validation) before fuse(scores)');
    const names = [...this.#stats.keys()];
    const missing = names.filter((n) => !Object.hasOwn(scores, n));
    if (missing.length > 0) throw new TypeError(`Expected scores for every fused component (${names.join(', ')}) but '${missing.join("', '")}' is missing`);
    const extra = Object.keys(scores).filter((n) => !this.#stats!.has(n));
    if (extra.length > 0) throw new TypeError(`Expected only the fitted components (${names.join(', ')}) but received '${extra.join("', '")}'`);
    const length = scores[names[0]].length;
    for (const n of names) {
      if (scores[n].length !== length) throw new TypeError(`Expected ${length} scores (one per image) for '${n}' as for '${names[0]}' but received ${scores[n].length}`);
    }
    const out = new Array<number>(length).fill(0);
    for (const n of names) {
      const { mean, std } = this.#stats.get(n)!;
      const s = scores[n];
      for (let i = 0; i < length; i++) out[i] += (s[i] - mean) / std;
    }
    return out;
  }
}

// Mahalanobis distance at several depths (Lee et al. 2018, arXiv:1807.03888): class means and a
// shared Ledoit–Wolf covariance of the pooled features after each chosen layer, fitted on normal
// training images. Lee et al. weigh the layers by logistic regression on anomaly examples; with
// none allowed here, each layer's distance is z-normalised on held-out normal validation images
// and the layers are summed (ScoreFusion).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkOptionKeys, type NumericInput } from '../eval/inputs.js';
import { MahalanobisScorer } from '../eval/scorers/mahalanobis-scorer.js';
import { ScoreFusion, type ZStats } from './fusion.js';

export interface DepthMahalanobisOptions {
  /** One mean per normal class with labels (default true), as MahalanobisScorer. */
  perClass?: boolean;
}

export class DepthMahalanobis {
  readonly name = 'mahalanobis-depths';
  readonly perClass: boolean;
  #layers: MahalanobisScorer[] = [];
  readonly #fusion = new ScoreFusion();

  constructor(opts: DepthMahalanobisOptions = {}) {
    checkOptionKeys(opts, ['perClass'], 'the mahalanobis-depths score');
    if (opts.perClass !== undefined && typeof opts.perClass !== 'boolean') throw new TypeError(`Expected a boolean for perClass of the mahalanobis-depths score but received ${typeof opts.perClass}`);
    this.perClass = opts.perClass ?? true;
  }

  /**
   * fit: features per layer of the normal training images (with their class labels); validation:
   * the same layers' features of held-out normal images, used only for the per-layer z-normalisation.
   */
  fit(fit: readonly Tensor[], labels: NumericInput | undefined, validation: readonly Tensor[]): void {
    if (fit.length === 0 || fit.length !== validation.length) {
      throw new TypeError(`Expected the same non-zero number of layers for fit and validation features but received ${fit.length} and ${validation.length}`);
    }
    this.dispose();
    this.#layers = fit.map((f) => {
      const m = new MahalanobisScorer({ perClass: this.perClass });
      m.fit(f, labels);
      return m;
    });
    this.#fusion.fit(Object.fromEntries(this.layerScores(validation).map((s, i) => [`layer${i}`, s])));
  }

  /** Each layer's squared Mahalanobis distance to the nearest normal class mean, per image. */
  layerScores(features: readonly Tensor[]): number[][] {
    if (this.#layers.length === 0) throw new Error('DepthMahalanobis: call fit before scoring');
    if (features.length !== this.#layers.length) throw new TypeError(`Expected features of ${this.#layers.length} layers (as in fit) but received ${features.length}`);
    return features.map((f, i) => tidy(() => this.#layers[i].score(f).toNumbers()));
  }

  /** Σ over layers of the z-normalised distances: higher = more anomalous. */
  score(features: readonly Tensor[]): number[] {
    return this.#fusion.fuse(Object.fromEntries(this.layerScores(features).map((s, i) => [`layer${i}`, s])));
  }

  /** The same sum as score(), as a [N] tensor (features of one batch). */
  scoreTensor(features: readonly Tensor[]): Tensor {
    if (this.#layers.length === 0) throw new Error('DepthMahalanobis: call fit before scoring');
    if (features.length !== this.#layers.length) throw new TypeError(`Expected features of ${this.#layers.length} layers (as in fit) but received ${features.length}`);
    const stats = this.#fusion.stats;
    return tidy(() => features.map((f, i) => {
      const { mean, std } = stats[`layer${i}`];
      return this.#layers[i].score(f).sub(mean).div(std);
    }).reduce((a, b) => a.add(b)));
  }

  /** Each layer's fitted tensors under 'layer<i>.'; the scorer keeps ownership. */
  fittedState(): Record<string, Tensor> {
    if (this.#layers.length === 0) throw new Error('DepthMahalanobis: call fit before saving its state');
    const out: Record<string, Tensor> = {};
    this.#layers.forEach((m, i) => {
      for (const [k, t] of Object.entries(m.fittedState())) out[`layer${i}.${k}`] = t;
    });
    return out;
  }

  /** Restores fittedState() and the per-layer statistics (`stats`). */
  loadFittedState(state: Record<string, Tensor>, stats: Record<string, ZStats>): void {
    const count = Object.keys(stats).length;
    if (count === 0) throw new TypeError('Expected the per-layer normalisation statistics of mahalanobis-depths but received none');
    const layers: MahalanobisScorer[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const prefix = `layer${i}.`;
        const m = new MahalanobisScorer({ perClass: this.perClass });
        layers.push(m);
        m.loadFittedState(Object.fromEntries(Object.entries(state).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t])));
      }
      const stray = Object.keys(state).filter((k) => !/^layer\d+\./.test(k) || Number(k.slice(5, k.indexOf('.'))) >= count);
      if (stray.length > 0) throw new TypeError(`Expected fitted state of ${count} layers but received ${stray.join(', ')}`);
      this.#fusion.restore(stats);
    } catch (e) {
      layers.forEach((m) => m.dispose());
      throw e;
    }
    this.dispose();
    this.#layers = layers;
  }

  /** The per-layer normalisation statistics from the validation images. */
  get stats(): Record<string, ZStats> {
    return this.#fusion.stats;
  }

  dispose(): void {
    for (const m of this.#layers) m.dispose();
    this.#layers = [];
  }
}

// Mahalanobis-distance scorer with a Ledoit–Wolf shrunk covariance; with class labels, one mean
// per class and a shared covariance (Lee et al. 2018), scoring the distance to the nearest class.
import { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { native } from '../../binding/native.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import { type AnomalyScorer, FittedState } from './scorer.js';
import { ledoitWolf } from './ledoit-wolf.js';
import { classMeans } from './class-means.js';

export interface MahalanobisScorerOptions {
  /** Use class labels given to fit (one mean per class, shared covariance). Default true; ignored without labels. */
  perClass?: boolean;
}

const OPTION_KEYS = ['perClass'] as const;

export class MahalanobisScorer implements AnomalyScorer {
  readonly name = 'mahalanobis';
  readonly perClass: boolean;
  /** The Ledoit–Wolf shrinkage of the last fit. */
  shrinkage = NaN;
  readonly #state = new FittedState<{ means: Tensor; precision: Tensor }>('mahalanobis');

  constructor(opts: MahalanobisScorerOptions = {}) {
    checkOptionKeys(opts, OPTION_KEYS, 'the mahalanobis scorer');
    if (opts.perClass !== undefined && typeof opts.perClass !== 'boolean') {
      throw new TypeError(`Expected a boolean for perClass of the mahalanobis scorer but received ${typeof opts.perClass}`);
    }
    this.perClass = opts.perClass ?? true;
  }

  get options(): Record<string, unknown> {
    return { perClass: this.perClass };
  }

  fit(train: Tensor, labels?: NumericInput): void {
    checkEmbeddings(train, 'train of the mahalanobis scorer');
    if (train.shape[0] < 2) throw new TypeError(`Expected at least 2 training rows for a covariance but received ${train.shape[0]}`);
    const state = noGrad(() => tidy(() => {
      const x = train.to('float64');
      let means: Tensor;
      let residuals: Tensor;
      if (labels !== undefined && this.perClass) {
        const c = classMeans(x, labels);
        means = c.means;
        residuals = x.sub(means.indexSelect(0, c.rowClass));
      } else {
        means = x.mean(0, true);
        residuals = x.sub(means);
      }
      const { covariance, shrinkage } = ledoitWolf(residuals, { assumeCentered: true });
      this.shrinkage = shrinkage;
      return { means, precision: new Tensor(native.linalgInv(covariance.handle)) };
    }));
    this.#state.set(state, train.shape[1]);
  }

  /** Squared Mahalanobis distance to the nearest mean (sklearn's EmpiricalCovariance.mahalanobis convention). */
  score(x: Tensor): Tensor {
    const { means, precision } = this.#state.get(x);
    return noGrad(() => tidy(() => {
      // (x − μ)ᵀP(x − μ) = xᵀPx − 2xᵀPμ + μᵀPμ for all classes at once: [M,C] without an [M,C,D] tensor.
      const xd = x.to('float64');
      const xp = xd.matmul(precision);
      const xx = xp.mul(xd).sum(1, true);
      const xm = xp.matmul(means.T);
      const mm = means.matmul(precision).mul(means).sum(1).unsqueeze(0);
      return xx.sub(xm.mul(2)).add(mm).min(1).clampMin(0);
    }));
  }

  fittedState(): Record<string, Tensor> {
    return { ...this.#state.tensors() };
  }

  loadFittedState(state: Record<string, Tensor>): void {
    this.#state.load(state, ['means', 'precision'], 'precision');
  }

  dispose(): void {
    this.#state.clear();
  }
}

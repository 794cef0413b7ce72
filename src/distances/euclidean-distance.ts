// EuclideanDistance ('euclidean'): ‖a − b‖₂, and SquaredEuclideanDistance ('squaredEuclidean'):
// ‖a − b‖₂² (pytorch-metric-learning's LpDistance with power 2). Rows are L2-normalised by default,
// as in pytorch-metric-learning, so distances lie in [0, 2] (squared: [0, 4]).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { cdist } from '../nn/functional.js';
import { checkBoolean } from '../tensor/checks.js';
import { Distance, type DistanceOptions } from './distance.js';

export class EuclideanDistance extends Distance {
  readonly name: 'euclidean' | 'squaredEuclidean' = 'euclidean';
  readonly isInverted = false;
  /** False for ‖a − b‖, true for ‖a − b‖². */
  readonly squared: boolean = false;

  constructor(opts: DistanceOptions = {}) {
    super(checkBoolean(opts.normalizeEmbeddings ?? true, 'normalizeEmbeddings of the euclidean distance'));
  }

  compute(query: Tensor, reference: Tensor): Tensor {
    return this.squared ? tidy(() => cdist(query, reference).square()) : cdist(query, reference);
  }

  protected computeRows(a: Tensor, b: Tensor): Tensor {
    return tidy(() => {
      const squared = a.sub(b).square().sum(1);
      return this.squared ? squared : squared.sqrt();
    });
  }
}

export class SquaredEuclideanDistance extends EuclideanDistance {
  override readonly name = 'squaredEuclidean' as const;
  override readonly squared: boolean = true;
}

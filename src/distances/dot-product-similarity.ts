// DotProductSimilarity ('dot'): a·b, a similarity (isInverted). Rows are not normalised by default,
// unlike pytorch-metric-learning's: normalised, it is the cosine similarity.
import type { Tensor } from '../tensor/tensor.js';
import { checkBoolean } from '../tensor/checks.js';
import { Distance, type DistanceOptions } from './distance.js';

export class DotProductSimilarity extends Distance {
  readonly name = 'dot' as const;
  readonly isInverted = true;

  constructor(opts: DistanceOptions = {}) {
    super(checkBoolean(opts.normalizeEmbeddings ?? false, 'normalizeEmbeddings of the dot product'));
  }

  compute(query: Tensor, reference: Tensor): Tensor {
    return query.matmul(reference.T);
  }

  protected computeRows(a: Tensor, b: Tensor): Tensor {
    return a.mul(b).sum(1);
  }
}

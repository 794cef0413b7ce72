// CosineSimilarity ('cosine'): cos(a, b) = â·b̂, a similarity in [−1, 1] (isInverted). The rows are
// always normalised: without that it would be the dot product.
import type { Tensor } from '../tensor/tensor.js';
import { checkBoolean } from '../tensor/checks.js';
import { Distance, type DistanceOptions } from './distance.js';

export class CosineSimilarity extends Distance {
  readonly name = 'cosine' as const;
  readonly isInverted = true;

  constructor(opts: DistanceOptions = {}) {
    if (!checkBoolean(opts.normalizeEmbeddings ?? true, 'normalizeEmbeddings of the cosine similarity')) {
      throw new RangeError('Expected normalizeEmbeddings true (or absent) for the cosine similarity but received false: use the dot product for unnormalised rows');
    }
    super(true);
  }

  compute(query: Tensor, reference: Tensor): Tensor {
    return query.matmul(reference.T);
  }

  protected computeRows(a: Tensor, b: Tensor): Tensor {
    return a.mul(b).sum(1);
  }
}

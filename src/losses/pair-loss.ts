// PairLoss: a Head for losses over pairs or triplets of embeddings within a batch. They learn an
// embedding only and have no class logits (classifies = false), so they hold no parameters.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { cdist, normalize } from '../nn/functional.js';
import { Head } from './head.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';

export abstract class PairLoss extends Head {
  readonly classifies: boolean = false;

  /** Checks embeddings [N,D] and labels [N] (labels may be any int64 ids, not only 0…C−1). */
  protected checkBatch(embeddings: Tensor, labels: Tensor): void {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.loss`);
    checkLabels(labels, 'labels', embeddings.shape[0], undefined, `${this.name}.loss`);
  }
}

/** Euclidean distances [N,N] between rows, after L2-normalising each row when normalized. */
export function pairwiseEuclidean(embeddings: Tensor, normalized: boolean): Tensor {
  return tidy(() => {
    const e = normalized ? normalize(embeddings, { dim: 1 }) : embeddings;
    return cdist(e, e);
  });
}

/** Cosine similarities [N,N] between rows. */
export function pairwiseCosineSimilarity(embeddings: Tensor): Tensor {
  return tidy(() => {
    const e = normalize(embeddings, { dim: 1 });
    return e.matmul(e.T);
  });
}

/**
 * Mean of the loss terms selected by mask that are > 0 (pytorch-metric-learning's AvgNonZeroReducer):
 * terms already satisfied do not dilute the average. 0 (still connected to the graph) when none are.
 */
export function meanOverPositive(terms: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    const selected = terms.mul(mask);
    const count = selected.gt(0).sum().clampMin(1);
    return selected.sum().div(count);
  });
}

// The pair mining step of Multi-Similarity — Wang, Han, Huang, Dong & Scott 2019, "Multi-Similarity
// Loss with General Pair Weighting for Deep Metric Learning", arXiv:1904.06627 (its eqs. 7 and 8).
// On cosine similarities S, for each anchor i:
//   keep negative pair (i,k) when S_ik > min_{y_j = y_i} S_ij − ε
//   keep positive pair (i,j) when S_ij < max_{y_k ≠ y_i} S_ik + ε
// An anchor without positives keeps no negatives and vice versa.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { pairMasks } from './class-mask.js';

/** Bool masks [N,N] of the kept positive and negative pairs; runs without gradient. */
export function multiSimilarityMine(similarities: Tensor, labels: Tensor, epsilon: number): { positive: Tensor; negative: Tensor } {
  return noGrad(() => tidy(() => {
    const s = similarities.detach();
    const { positive, negative } = pairMasks(labels);
    const hardestPositive = s.maskedFill(positive.logicalNot(), Infinity).min(1, true);
    const hardestNegative = s.maskedFill(negative.logicalNot(), -Infinity).max(1, true);
    return {
      positive: positive.logicalAnd(s.lt(hardestNegative.add(epsilon))),
      negative: negative.logicalAnd(s.gt(hardestPositive.sub(epsilon))),
    };
  }));
}

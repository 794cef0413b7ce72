// BatchNorm in training mode with statistics over every data-parallel rank's batch (--sync-bn).
//
// Forward: each rank sums its per-channel Σx and Σx² (float64, detached) and its count into one
// small vector, `allreduce` sums it over ranks, and x is normalised with the global mean and
// (biased) variance; the running statistics are updated with them (unbiased variance, as PyTorch).
// So the forward pass, the loss and the running statistics are those of one process that holds
// the whole global batch.
//
// Backward (the approximation): the mean and variance are built as
//   mean = μ_global + (mean_local − detach(mean_local)),  var = σ²_global + (g − detach(g)),
//   g = E_local[x²] − 2·μ_global·mean_local,
// whose values are the global statistics and whose gradients flow through this rank's own inputs
// only, as if the rank's batch were the whole batch. The input gradient is then the standard BN
// backward with the global μ, σ but with the rank's own means of dy and dy·x̂ in its two projection
// terms, where exact SyncBatchNorm (PyTorch) allreduces those two sums in backward. The gradients
// of γ, β and of every layer after the BN are exact; those of the layers before it differ from
// exact SyncBatchNorm by the spread of those means across ranks (zero with one rank).
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/combine.js';
import { tensor } from '../tensor/creation.js';
import { noGrad } from '../tensor/grad-mode.js';

export interface SyncedBatchNormState {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor;
  runningVar: Tensor;
  momentum: number;
  eps: number;
}

/** Sums a float64 vector over all ranks, in place. */
export type StatsAllreduce = (stats: Tensor) => void;

export function syncedBatchNorm(x: Tensor, bn: SyncedBatchNormState, allreduce: StatsAllreduce): Tensor {
  const C = x.shape[1];
  const dims = x.ndim === 4 ? [0, 2, 3] : [0];
  const shape = x.ndim === 4 ? [1, C, 1, 1] : [1, C];
  const n = x.shape[0] * (x.ndim === 4 ? x.shape[2] * x.shape[3] : 1);
  const xd = x.detach().to('float64');
  const stats = cat([xd.sum(dims), xd.square().sum(dims), tensor([n], { dtype: 'float64' })]);
  allreduce(stats);
  const count = stats.narrow(0, 2 * C, 1).item();
  if (!(count > 1)) throw new RangeError(`BatchNorm with --sync-bn: Expected more than 1 value per channel over all ranks but received ${count} (input shape [${x.shape.join(',')}])`);
  const mean64 = stats.narrow(0, 0, C).div(count);
  const var64 = stats.narrow(0, C, C).div(count).sub(mean64.square()).clamp(0);
  const globalMean = mean64.to('float32');
  const globalVar = var64.to('float32');
  const localMean = x.mean(dims);
  const g = x.square().mean(dims).sub(localMean.mul(globalMean.mul(2)));
  const mean = globalMean.add(localMean.sub(localMean.detach()));
  const variance = globalVar.add(g.sub(g.detach()));
  let y = x.sub(mean.view(shape)).mul(variance.add(bn.eps).rsqrt().view(shape));
  if (bn.weight) y = y.mul(bn.weight.view(shape));
  if (bn.bias) y = y.add(bn.bias.view(shape));
  noGrad(() => {
    const m = bn.momentum;
    bn.runningMean.mul_(1 - m).add_(globalMean.mul(m));
    bn.runningVar.mul_(1 - m).add_(globalVar.mul(m * count / (count - 1)));
  });
  return y;
}

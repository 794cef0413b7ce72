// Ledoit–Wolf shrinkage covariance (Ledoit & Wolf 2004), as sklearn.covariance.ledoit_wolf.
import type { Tensor } from '../../tensor/tensor.js';
import { eye } from '../../tensor/creation.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import type { Device } from '../../tensor/device.js';
import { checkEmbeddings } from '../inputs.js';

export interface LedoitWolfResult {
  /** [D,D] float64 (1 − s)·S + s·μ·I, with S the biased empirical covariance and μ = trace(S)/D. */
  covariance: Tensor;
  /** s in [0, 1]: how far S was pulled towards the scaled identity. */
  shrinkage: number;
}

/**
 * The shrinkage that minimises the expected Frobenius error of the estimate: well-conditioned
 * (invertible) even when D is close to or above N, where the empirical covariance is singular.
 * assumeCentered: x is already centred (e.g. class means subtracted); no mean is removed.
 */
export function ledoitWolf(x: Tensor, opts: { assumeCentered?: boolean } = {}): LedoitWolfResult {
  checkEmbeddings(x, 'x of ledoitWolf');
  const [n, p] = x.shape;
  return noGrad(() => tidy(() => {
    const raw = x.to('float64');
    const centred = opts.assumeCentered ? raw : raw.sub(raw.mean(0, true));
    const gram = centred.T.matmul(centred);
    const empirical = gram.div(n);
    const squares = centred.square();
    const traceTerms = squares.sum(0).div(n);
    const trace = traceTerms.sum().item();
    const mu = trace / p;
    // Same algebra as sklearn's ledoit_wolf_shrinkage (unblocked).
    const deltaRaw = gram.square().sum().item() / (n * n);
    const betaRaw = squares.T.matmul(squares).sum().item();
    let beta = (betaRaw / n - deltaRaw) / (p * n);
    const delta = (deltaRaw - 2 * mu * trace + p * mu * mu) / p;
    beta = Math.min(beta, delta);
    const shrinkage = n === 1 || beta === 0 ? 0 : beta / delta;
    const identity = eye(p, p, { dtype: 'float64', device: x.device as Device });
    return { covariance: empirical.mul(1 - shrinkage).add(identity.mul(shrinkage * mu)), shrinkage };
  }));
}

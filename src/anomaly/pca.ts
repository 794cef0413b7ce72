// Principal component analysis with tensor ops, for 2-D pictures of embeddings: centre, covariance,
// eigendecomposition (linalgEigh), projection onto the leading components.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { native } from '../binding/native.js';

export interface PcaResult {
  /** [N,components] float32 coordinates. */
  coords: Tensor;
  /** The fraction of the total variance each component explains. */
  explained: number[];
}

/**
 * Projects the rows of x [N,D] onto its `components` leading principal axes. Each axis is signed
 * so that its largest-magnitude loading is positive, so the picture does not flip between runs
 * (eigenvectors are only defined up to sign).
 */
export function pca(x: Tensor, components = 2): PcaResult {
  if (!(x instanceof Tensor) || x.ndim !== 2) {
    throw new TypeError(`Expected a 2-d tensor [N,D] for pca but received ${x instanceof Tensor ? `shape [${x.shape.join(',')}]` : typeof x}`);
  }
  const [n, d] = x.shape;
  if (!Number.isInteger(components) || components < 1 || components > d) {
    throw new RangeError(`Expected an integer between 1 and ${d} (the width of x) for components but received ${components}`);
  }
  if (n < 2) throw new RangeError(`Expected at least 2 rows for pca but received ${n}`);
  return noGrad(() => tidy(() => {
    // float64: the covariance of many similar embeddings is badly conditioned in float32.
    const xd = x.to('float64');
    const centred = xd.sub(xd.mean(0, true));
    const cov = centred.T.matmul(centred).div(n - 1);
    const [valuesHandle, vectorsHandle] = native.linalgEigh(cov.handle);
    const values = new Tensor(valuesHandle); // ascending
    const vectors = new Tensor(vectorsHandle); // columns
    const top = vectors.narrow(1, d - components, components).flip([1]);
    const pivot = top.abs().argmax(0, true);
    const signs = top.gather(0, pivot).ge(0).to('float64').mul(2).sub(1);
    const eig = values.toNumbers().reverse().slice(0, components);
    const total = values.clampMin(0).sum().item();
    return {
      coords: centred.matmul(top.mul(signs)).to('float32'),
      explained: eig.map((v) => (total > 0 ? Math.max(0, v) / total : 0)),
    };
  }));
}

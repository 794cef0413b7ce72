// The four rotations (0°, 90°, 180°, 270°) of a batch of square images, as tensor ops (views and
// flips, no pixel loops): the self-supervised task of Gidaris et al. 2018, used for anomaly
// detection by Golan & El-Yaniv 2018 (GEOM) and Hendrycks et al. 2019.
// It lives beside RotationHead, whose four classes it defines; anomaly/rotation/ builds on it.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { arange } from '../tensor/creation.js';
import { cat } from '../tensor/combine.js';
import type { Device } from '../tensor/device.js';

/** How many rotations the task predicts; rotation r turns the image by r·90° counter-clockwise. */
export const ROTATION_COUNT = 4;

/**
 * 'nchw': a model input [N,C,H,W] (whatever its memory format); 'nhwc': decoded images [N,H,W,C]
 * as the data loader stores them.
 */
export type ImageLayout = 'nchw' | 'nhwc';

function spatialDims(x: Tensor, layout: ImageLayout, what: string): [number, number] {
  if (layout !== 'nchw' && layout !== 'nhwc') throw new TypeError(`Expected layout 'nchw' or 'nhwc' for ${what} but received ${JSON.stringify(layout)}`);
  if (x.ndim !== 4) throw new TypeError(`Expected a 4-d batch of images for ${what} but received shape [${x.shape.join(',')}]`);
  const dims: [number, number] = layout === 'nchw' ? [2, 3] : [1, 2];
  if (x.shape[dims[0]] !== x.shape[dims[1]]) {
    throw new TypeError(`Expected square images for ${what} (a rotated batch keeps its shape only then) but received height ${x.shape[dims[0]]} and width ${x.shape[dims[1]]}`);
  }
  return dims;
}

/**
 * x turned by k·90° counter-clockwise in its image plane, as torch.rot90(x, k, dims=(H, W)):
 * for k = 1, out[i][j] = in[j][W−1−i].
 */
export function rotate90(x: Tensor, k: number, layout: ImageLayout = 'nchw'): Tensor {
  if (!Number.isInteger(k)) throw new TypeError(`Expected an integer number of quarter turns for rotate90 but received ${k}`);
  const [hDim, wDim] = spatialDims(x, layout, 'rotate90');
  const turns = ((k % 4) + 4) % 4;
  return tidy(() => {
    switch (turns) {
      case 0: return x.clone();
      case 1: return x.flip(wDim).transpose(hDim, wDim);
      case 2: return x.flip([hDim, wDim]);
      default: return x.transpose(hDim, wDim).flip(wDim);
    }
  });
}

export interface RotationBatch {
  /** [4N, …] the batch four times: rows r·N … r·N + N − 1 are the images turned by r·90°. */
  images: Tensor;
  /** [4N] int64 rotation labels 0…3, in the same order. */
  labels: Tensor;
}

/**
 * The four rotations of every image of a batch, stacked rotation by rotation (rotation-major, so
 * rows 0…N−1 are the unrotated batch). For 'nchw' input the result is channels-last in memory,
 * the layout the conv nets run in.
 */
export function rotationBatch(x: Tensor, layout: ImageLayout = 'nchw'): RotationBatch {
  spatialDims(x, layout, 'rotationBatch');
  const n = x.shape[0];
  return tidy(() => {
    const all = cat(Array.from({ length: ROTATION_COUNT }, (_, r) => (r === 0 ? x : rotate90(x, r, layout))));
    const images = layout === 'nchw' ? all.contiguous('channels_last') : all.contiguous();
    const labels = arange(0, ROTATION_COUNT, 1, { dtype: 'int64', device: x.device as Device }).unsqueeze(1).expand(ROTATION_COUNT, n).reshape(-1);
    return { images, labels };
  });
}

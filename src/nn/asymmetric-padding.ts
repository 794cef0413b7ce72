// Convolution with asymmetric zero padding (e.g. Keras/TensorFlow 'same' before a stride-2
// convolution pads 0 before and 1 after). libtorch's conv2d pads symmetrically, so either pad the
// input explicitly, or — the same arithmetic — pad symmetrically by the larger side and extend the
// kernel with zero taps on the smaller side: a window then starts where the asymmetric one would.
// Padding a large activation costs more than the extra taps (MobileNetV2-0.5 block 1, 48×16×16,
// batch 128, forward+backward: 4.8 ms by padding the input, 1.5 ms by extending the kernel), while
// on small maps the explicit pad is cheaper (192×4×4: 0.3 vs 0.8 ms): choose by map size.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { conv2d, pad } from './functional.js';

/** [left, right, top, bottom], as torch's F.pad for the last two dims. */
export type Pads = [number, number, number, number];

const EXTEND_KERNEL_FROM_PIXELS = 16 * 16;

export function conv2dAsymmetric(x: Tensor, weight: Tensor, bias: Tensor | null, pads: Pads,
  o: { stride: number[]; dilation: number[]; groups: number }): Tensor {
  const [left, right, top, bottom] = pads;
  const useKernel = o.dilation.every((d) => d === 1) && x.shape[2] * x.shape[3] >= EXTEND_KERNEL_FROM_PIXELS;
  return tidy(() => {
    if (!useKernel) return conv2d(pad(x, pads), weight, bias, { stride: o.stride, padding: 0, dilation: o.dilation, groups: o.groups });
    // Zero taps before the kernel where that side pads less, after it where it pads more.
    const kernelPads: Pads = [Math.max(0, right - left), Math.max(0, left - right), Math.max(0, bottom - top), Math.max(0, top - bottom)];
    const extended = pad(weight, kernelPads).toChannelsLast();
    return conv2d(x, extended, bias, { stride: o.stride, padding: [Math.max(top, bottom), Math.max(left, right)], groups: o.groups });
  });
}

// Parameter-free layers: activations, pooling, flatten, dropout, zero padding.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import * as F from './functional.js';

/**
 * Wraps a tensor function as a layer (ReLU, ReLU6, …), so it can sit in a Sequential. options
 * records the settings the function closes over (pooling sizes, slopes), for exporters.
 */
export class Lambda extends Module {
  constructor(readonly name: string, private readonly fn: (x: Tensor) => Tensor, readonly options: Readonly<Record<string, number>> = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** With inplace, the input is overwritten (as torch's inplace=True): use it only after a layer whose output autograd does not save, such as BatchNorm. */
export const ReLU = (inplace = false): Lambda => new Lambda('ReLU', inplace ? (x) => x.relu_() : F.relu);
export const ReLU6 = (inplace = false): Lambda => new Lambda('ReLU6', inplace ? (x) => x.relu6_() : F.relu6);
export const SiLU = (): Lambda => new Lambda('SiLU', F.silu);
export const GELU = (): Lambda => new Lambda('GELU', (x) => F.gelu(x));
export const Hardswish = (): Lambda => new Lambda('Hardswish', F.hardswish);
export const Sigmoid = (): Lambda => new Lambda('Sigmoid', F.sigmoid);
export const Tanh = (): Lambda => new Lambda('Tanh', F.tanh);
export const LeakyReLU = (slope = 0.01): Lambda => new Lambda('LeakyReLU', (x) => F.leakyRelu(x, slope), { slope });
/** [N,C,H,W] → [N,C]: mean over the spatial dims. */
export const GlobalAvgPool2d = (): Lambda => new Lambda('GlobalAvgPool2d', F.globalAvgPool2d);
export const Flatten = (): Lambda => new Lambda('Flatten', (x) => x.flatten(1));
export const MaxPool2d = (kernel: number, stride = kernel, padding = 0): Lambda =>
  new Lambda('MaxPool2d', (x) => F.maxPool2d(x, kernel, { stride, padding }), { kernel, stride, padding });
export const AvgPool2d = (kernel: number, stride = kernel): Lambda => new Lambda('AvgPool2d', (x) => F.avgPool2d(x, kernel, { stride }), { kernel, stride });

/** Zero padding per side, [left, right, top, bottom] (Keras's ZeroPadding2D, asymmetric allowed). */
export class ZeroPad2d extends Module {
  constructor(readonly pads: [number, number, number, number]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.pad(x, this.pads);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new TypeError(`Expected a probability between 0 and 1 for Dropout but received ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

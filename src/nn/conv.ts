// Convolution layers: Conv2d (incl. depthwise and 'same' padding) and ConvTranspose2d.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInt, pair } from '../tensor/checks.js';
import { conv2d, convTranspose2d } from './functional.js';
import { type InitScheme, initBias, initWeight } from './init.js';
import { conv2dAsymmetric, type Pads } from './asymmetric-padding.js';

export interface Conv2dConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number | number[];
  stride?: number | number[];
  /** Per side (symmetric), per dim [h, w], 'same', 'valid', or asymmetric [left, right, top, bottom]. */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  /** groups = inChannels = outChannels gives a depthwise convolution. */
  groups?: number;
  bias?: boolean;
  init?: InitScheme;
}

/**
 * 'valid' is 0, and 'same' with stride 1 and odd kernels is a symmetric integer padding: numbers
 * take libtorch's direct convolution path, strings a slower one that resolves them on every call.
 */
function numericPadding(padding: Conv2dConfig['padding'] & {}, k: number[], stride: number[], dilation: number[]): number | number[] | 'same' {
  if (padding === 'valid') return 0;
  if (padding === 'same' && stride.every((s) => s === 1) && k.every((n) => n % 2 === 1)) return k.map((n, i) => (dilation[i] * (n - 1)) / 2);
  return padding;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly config: Required<Omit<Conv2dConfig, 'kernelSize' | 'stride' | 'dilation' | 'padding'>> & { kernelSize: number[]; stride: number[]; dilation: number[]; padding: number | number[] | 'same' };

  constructor(c: Conv2dConfig) {
    super();
    const groups = checkInt(c.groups ?? 1, 'groups', 1);
    checkInt(c.inChannels, 'inChannels', 1);
    checkInt(c.outChannels, 'outChannels', 1);
    if (c.inChannels % groups !== 0 || c.outChannels % groups !== 0) {
      throw new TypeError(`Expected inChannels and outChannels divisible by groups ${groups} but received ${c.inChannels} and ${c.outChannels}`);
    }
    const k = pair(c.kernelSize, 'kernelSize');
    const stride = pair(c.stride ?? 1, 'stride');
    const dilation = pair(c.dilation ?? 1, 'dilation');
    this.config = { inChannels: c.inChannels, outChannels: c.outChannels, kernelSize: k, stride,
      padding: numericPadding(c.padding ?? 0, k, stride, dilation), dilation, groups, bias: c.bias ?? true, init: c.init ?? 'torch' };
    const inPerGroup = c.inChannels / groups;
    const receptive = k[0] * k[1];
    // Keras sees a depthwise kernel as (kh, kw, C, 1): fan_in = C·kh·kw, fan_out = kh·kw.
    const depthwise = groups > 1 && groups === c.inChannels && this.config.init === 'keras';
    const fans = depthwise
      ? { fanIn: c.inChannels * receptive, fanOut: (c.outChannels / groups) * receptive }
      : { fanIn: inPerGroup * receptive, fanOut: (c.outChannels / groups) * receptive * (this.config.init === 'keras' ? groups : 1) };
    this.weight = this.registerParameter('weight', initWeight(this.config.init, [c.outChannels, inPerGroup, k[0], k[1]], fans));
    this.bias = this.config.bias ? this.registerParameter('bias', initBias(this.config.init, c.outChannels, fans.fanIn)) : null;
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.config;
    if (Array.isArray(padding) && padding.length === 4) return conv2dAsymmetric(x, this.weight, this.bias, padding as Pads, { stride, dilation, groups });
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }
}

export interface ConvTranspose2dConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number | number[];
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  bias?: boolean;
  init?: InitScheme;
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly config: ConvTranspose2dConfig;

  constructor(c: ConvTranspose2dConfig) {
    super();
    this.config = c;
    const k = pair(c.kernelSize, 'kernelSize');
    const init = c.init ?? 'torch';
    // PyTorch computes fan_in of a transposed conv from weight dim 1 (= outChannels).
    const fans = { fanIn: c.outChannels * k[0] * k[1], fanOut: c.inChannels * k[0] * k[1] };
    this.weight = this.registerParameter('weight', initWeight(init, [c.inChannels, c.outChannels, k[0], k[1]], fans));
    this.bias = (c.bias ?? true) ? this.registerParameter('bias', initBias(init, c.outChannels, fans.fanIn)) : null;
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, { stride: this.config.stride, padding: this.config.padding, outputPadding: this.config.outputPadding });
  }
}

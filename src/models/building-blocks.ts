// Small helpers that backbones are built from: conv → BN → activation, and Keras's padding rule.
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { BatchNorm2d, type BatchNormConfig } from '../nn/batchnorm.js';
import { ReLU, ReLU6 } from '../nn/simple-layers.js';
import type { InitScheme } from '../nn/init.js';
import type { Module } from '../nn/module.js';

export interface ConvBnOptions {
  kernel: number;
  stride?: number;
  padding?: number | 'same' | 'valid' | [number, number, number, number];
  groups?: number;
  activation?: 'relu' | 'relu6' | 'none';
  bn?: Omit<BatchNormConfig, 'numFeatures'>;
  init?: InitScheme;
}

/** Conv (no bias) → BatchNorm → activation, named '0', '1', '2' as torchvision's ConvBNActivation. */
export function convBn(inC: number, outC: number, o: ConvBnOptions): Sequential {
  const layers: Module[] = [
    new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: o.kernel, stride: o.stride ?? 1, padding: o.padding ?? 'same',
      groups: o.groups ?? 1, bias: false, init: o.init }),
    new BatchNorm2d({ numFeatures: outC, ...o.bn }),
  ];
  // In place after BatchNorm, whose output autograd does not keep.
  if ((o.activation ?? 'relu6') === 'relu6') layers.push(ReLU6(true));
  else if (o.activation === 'relu') layers.push(ReLU(true));
  return new Sequential(...layers);
}

/**
 * Keras's `correct_pad` before a stride-2 'valid' convolution, as [left, right, top, bottom]:
 * (k//2 − adjust, k//2) per dim, where adjust = 1 for even sizes — so even inputs get 0 before
 * and 1 after (asymmetric).
 */
export function kerasCorrectPad(inputSize: number, kernel: number): [number, number, number, number] {
  const adjust = 1 - (inputSize % 2);
  const c = Math.floor(kernel / 2);
  return [c - adjust, c, c - adjust, c];
}

/** Keras's `_make_divisible`: round to a multiple of divisor, never more than 10% below v. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let n = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

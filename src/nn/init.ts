// Weight initialisers: Keras's defaults (glorot-uniform kernels, zero biases) and PyTorch's.
import type { Tensor } from '../tensor/tensor.js';
import { rand, zeros } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';

/** 'keras': glorot-uniform kernels, zero biases. 'torch': PyTorch's kaiming-uniform(a=√5) kernels and fan-in-uniform biases. */
export type InitScheme = 'keras' | 'torch';

/** Fans as each framework computes them for a weight of the given (PyTorch-layout) shape. */
export interface Fans { fanIn: number; fanOut: number }

export function uniform(shape: number[], bound: number): Tensor {
  return tidy(() => rand(shape).mul(2 * bound).sub(bound));
}

/** U(−√(6/(fanIn+fanOut)), +…) — Glorot & Bengio 2010, Keras's default kernel initialiser. */
export function glorotUniform(shape: number[], fans: Fans): Tensor {
  return uniform(shape, Math.sqrt(6 / (fans.fanIn + fans.fanOut)));
}

/** PyTorch's default for Conv and Linear weights: kaiming-uniform with a = √5, i.e. U(±1/√fanIn). */
export function torchDefaultWeight(shape: number[], fans: Fans): Tensor {
  return uniform(shape, 1 / Math.sqrt(fans.fanIn));
}

export function initWeight(scheme: InitScheme, shape: number[], fans: Fans): Tensor {
  return scheme === 'keras' ? glorotUniform(shape, fans) : torchDefaultWeight(shape, fans);
}

export function initBias(scheme: InitScheme, size: number, fanIn: number): Tensor {
  return scheme === 'keras' ? zeros([size]) : uniform([size], 1 / Math.sqrt(fanIn));
}

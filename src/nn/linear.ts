// Fully connected layer: y = x·Wᵀ + b.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInt } from '../tensor/checks.js';
import { linear } from './functional.js';
import { type InitScheme, initBias, initWeight } from './init.js';

export interface LinearConfig {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  init?: InitScheme;
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(c: LinearConfig) {
    super();
    const inF = checkInt(c.inFeatures, 'inFeatures', 1);
    const outF = checkInt(c.outFeatures, 'outFeatures', 1);
    const init = c.init ?? 'torch';
    this.weight = this.registerParameter('weight', initWeight(init, [outF, inF], { fanIn: inF, fanOut: outF }));
    this.bias = (c.bias ?? true) ? this.registerParameter('bias', initBias(init, outF, inF)) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

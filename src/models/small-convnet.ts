// A small ConvNet for tests and quick runs: three conv-BN-ReLU stages (32, 64, 128 channels),
// max-pooling after the first two.
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { MaxPool2d } from '../nn/simple-layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { convBn } from './building-blocks.js';
import type { InitScheme } from '../nn/init.js';

export class SmallConvNet extends Module {
  readonly features: Sequential;
  readonly outChannels: number;

  constructor(c: { width?: number; inChannels?: number; init?: InitScheme } = {}) {
    super();
    const w = c.width ?? 32;
    const init = c.init ?? 'torch';
    this.outChannels = 4 * w;
    this.features = this.registerModule('features', new Sequential(
      convBn(c.inChannels ?? 3, w, { kernel: 3, padding: 1, activation: 'relu', init }), MaxPool2d(2),
      convBn(w, 2 * w, { kernel: 3, padding: 1, activation: 'relu', init }), MaxPool2d(2),
      convBn(2 * w, 4 * w, { kernel: 3, padding: 1, activation: 'relu', init }),
    ));
  }

  forward(x: Tensor): Tensor {
    return this.features.forward(x);
  }
}

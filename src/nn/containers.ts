// Containers: Sequential chains of layers and residual (skip) connections.
import { Module } from './module.js';
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';

/** Applies its layers in order; children are named '0', '1', … as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.registerModule(String(i), l));
  }
  forward(x: Tensor): Tensor {
    // Intermediates are freed as soon as the next layer has consumed them.
    return tidy(() => this.layers.reduce((h, layer) => layer.forward(h), x));
  }
}

/** x + body(x). */
export class Residual extends Module {
  constructor(readonly body: Module) {
    super();
    this.registerModule('body', body);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => x.add(this.body.forward(x)));
  }
}

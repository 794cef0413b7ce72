// Containers: Sequential chains of layers and residual (skip) connections.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
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

  /** Puts another layer at index i (used to fold BatchNorm into convolutions for inference). */
  replaceLayer(i: number, layer: Module): Module {
    const old = this.layers[i];
    if (!old) throw new RangeError(`Expected a layer index below ${this.layers.length} but received ${i}`);
    this.layers[i] = layer;
    this.replaceModule(String(i), layer);
    return old;
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

// Horizontal-flip test-time averaging: a network whose output is the mean of its outputs for the
// image and its mirror image. Wrapping the embedding network keeps every embedding-based score
// unchanged in form; fit, validation and test images all go through the same wrapper.
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';

export class FlipAveraged extends Module {
  constructor(readonly inner: Module) {
    super();
    this.registerModule('inner', inner);
  }

  /** (inner(x) + inner(x mirrored along W)) / 2 for x [N,C,H,W]. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TypeError(`FlipAveraged: Expected images [N,C,H,W] but received shape [${x.shape.join(',')}]`);
    return tidy(() => this.inner.forward(x).add(this.inner.forward(x.flip(3))).div(2));
  }
}

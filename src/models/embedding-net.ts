// Embedding network: backbone feature map → global average pooling (→ optional linear projection).
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { globalAvgPool2d } from '../nn/functional.js';

export interface Backbone extends Module {
  readonly outChannels: number;
}

export class EmbeddingNet extends Module {
  readonly backbone: Backbone;
  readonly projection: Linear | null;
  /** Size of the embeddings this network outputs. */
  readonly embeddingDim: number;

  constructor(backbone: Backbone, opts: { projectionDim?: number } = {}) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.projection = opts.projectionDim
      ? this.registerModule('projection', new Linear({ inFeatures: backbone.outChannels, outFeatures: opts.projectionDim }))
      : null;
    this.embeddingDim = opts.projectionDim ?? backbone.outChannels;
  }

  /** Images [N,3,H,W] → embeddings [N, embeddingDim]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const pooled = globalAvgPool2d(this.backbone.forward(x));
      return this.projection ? this.projection.forward(pooled) : pooled;
    });
  }
}

// The previous lecture's convolutional autoencoder for 32×32 RGB images, the anomaly-detection
// baseline: three stride-2 conv-BN-ReLU stages down to 4×4×128, transposed convolutions back up
// to 3 channels with a sigmoid, trained to reproduce pixels / 255. Reconstruction error is the
// anomaly score.
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { ConvTranspose2d } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { ReLU, Sigmoid } from '../nn/simple-layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { convBn } from './building-blocks.js';

export interface ConvAutoencoderConfig {
  /** Image channels (default 3). */
  inChannels?: number;
  /** Channels of the three stages (default [32, 64, 128]). */
  widths?: [number, number, number];
}

/** ConvTranspose(k3, s2, p1, output padding 1) doubles the size exactly: (n − 1)·2 − 2 + 3 + 1 = 2n. */
function upsample(inC: number, outC: number, last: boolean): Module[] {
  const conv = new ConvTranspose2d({ inChannels: inC, outChannels: outC, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, bias: last });
  return last ? [conv, Sigmoid()] : [conv, new BatchNorm2d({ numFeatures: outC }), ReLU(true)];
}

export class ConvAutoencoder extends Module {
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  readonly inChannels: number;

  constructor(c: ConvAutoencoderConfig = {}) {
    super();
    const inC = c.inChannels ?? 3;
    const [w1, w2, w3] = c.widths ?? [32, 64, 128];
    this.inChannels = inC;
    this.encoder = this.registerModule('encoder', new Sequential(
      convBn(inC, w1, { kernel: 3, stride: 2, padding: 1, activation: 'relu' }),
      convBn(w1, w2, { kernel: 3, stride: 2, padding: 1, activation: 'relu' }),
      convBn(w2, w3, { kernel: 3, stride: 2, padding: 1, activation: 'relu' }),
    ));
    this.decoder = this.registerModule('decoder', new Sequential(
      ...upsample(w3, w2, false), ...upsample(w2, w1, false), ...upsample(w1, inC, true),
    ));
  }

  #checkInput(x: Tensor): void {
    const [n, ch, h, w] = x.shape;
    if (x.ndim !== 4 || ch !== this.inChannels || h % 8 !== 0 || w % 8 !== 0 || n < 1) {
      throw new TypeError(`ConvAutoencoder: Expected input [N,${this.inChannels},H,W] with H and W multiples of 8 but received shape [${x.shape.join(',')}]`);
    }
  }

  /** The code [N,128,H/8,W/8]. */
  encode(x: Tensor): Tensor {
    this.#checkInput(x);
    return this.encoder.forward(x);
  }

  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  /** The reconstruction, in [0, 1], of the same shape as x. */
  forward(x: Tensor): Tensor {
    return tidy(() => this.decode(this.encode(x)));
  }

  /** Per-image mean squared reconstruction error [N] (the anomaly score). */
  reconstructionError(x: Tensor): Tensor {
    return tidy(() => this.forward(x).sub(x).square().flatten(1).mean(1));
  }
}

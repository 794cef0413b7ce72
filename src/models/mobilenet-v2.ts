// MobileNetV2 (Sandler et al. 2018, arXiv:1801.04381), faithful to Keras's
// keras.applications.MobileNetV2: block structure, channel rounding, BN eps 1e-3 / momentum 0.999
// (Keras convention), glorot-uniform init, and the asymmetric zero padding before stride-2
// depthwise convolutions. The 'cifar' variant removes the early downsampling for 32×32 inputs.
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { Linear } from '../nn/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { globalAvgPool2d } from '../nn/functional.js';
import { convBn, kerasCorrectPad, makeDivisible } from './building-blocks.js';
import type { InitScheme } from '../nn/init.js';

export const MOBILENET_V2_ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4] as const;

/** (expansion t, output filters c, stride s) for each of the 17 inverted-residual blocks. */
const BLOCKS: [number, number, number][] = [
  [1, 16, 1],
  [6, 24, 2], [6, 24, 1],
  [6, 32, 2], [6, 32, 1], [6, 32, 1],
  [6, 64, 2], [6, 64, 1], [6, 64, 1], [6, 64, 1],
  [6, 96, 1], [6, 96, 1], [6, 96, 1],
  [6, 160, 2], [6, 160, 1], [6, 160, 1],
  [6, 320, 1],
];

export interface MobileNetV2Config {
  /** Width multiplier α. */
  alpha?: number;
  /** Input height = width (needed for Keras's padding rule). */
  inputSize?: number;
  /** 'keras': the ImageNet layout. 'cifar': stem and first stride-2 block at stride 1 (32×32 → 4×4 final map). */
  variant?: 'keras' | 'cifar';
  /** With a number, adds Keras's top: global average pooling + Dense(classes). */
  classes?: number;
  init?: InitScheme;
  /**
   * BatchNorm momentum in PyTorch's convention (running = (1 − m)·running + m·batch). Keras's
   * 0.999 is 0.001 here, the default: faithful, but running statistics then need thousands of
   * steps to settle, so short runs validate poorly; 0.01–0.1 settles within an epoch.
   */
  bnMomentum?: number;
  /** Input channels: 3 (default) for RGB, 1 for grayscale. */
  inChannels?: number;
}

export class InvertedResidual extends Module {
  readonly useResidual: boolean;
  readonly body: Sequential;

  constructor(inC: number, outC: number, expansion: number, stride: number, inputSize: number, init: InitScheme, BN: { eps: number; momentum: number }) {
    super();
    const hidden = inC * expansion;
    const layers: Module[] = [];
    if (expansion !== 1) layers.push(convBn(inC, hidden, { kernel: 1, bn: BN, init }));
    layers.push(convBn(hidden, hidden, { kernel: 3, stride, padding: stride === 2 ? kerasCorrectPad(inputSize, 3) : 'same', groups: hidden, bn: BN, init }));
    layers.push(convBn(hidden, outC, { kernel: 1, activation: 'none', bn: BN, init }));
    this.body = this.registerModule('conv', new Sequential(...layers));
    this.useResidual = stride === 1 && inC === outC;
  }

  forward(x: Tensor): Tensor {
    if (!this.useResidual) return this.body.forward(x);
    return tidy(() => x.add(this.body.forward(x)));
  }
}

export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Linear | null;
  readonly outChannels: number;
  readonly config: Required<Omit<MobileNetV2Config, 'classes'>> & { classes: number | null };

  constructor(c: MobileNetV2Config = {}) {
    super();
    const alpha = c.alpha ?? 1.0;
    if (!(MOBILENET_V2_ALPHAS as readonly number[]).includes(alpha)) {
      throw new TypeError(`Expected alpha in ${MOBILENET_V2_ALPHAS.join(', ')} but received ${alpha}`);
    }
    const variant = c.variant ?? 'keras';
    const init = c.init ?? 'keras';
    const BN = { eps: 1e-3, momentum: c.bnMomentum ?? 1 - 0.999 };
    let size = c.inputSize ?? 224;
    const inChannels = c.inChannels ?? 3;
    this.config = { alpha, inputSize: size, variant, init, classes: c.classes ?? null, bnMomentum: c.bnMomentum ?? 1 - 0.999, inChannels };
    const layers: Module[] = [];
    let channels = makeDivisible(32 * alpha, 8);
    if (variant === 'keras') {
      layers.push(convBn(inChannels, channels, { kernel: 3, stride: 2, padding: kerasCorrectPad(size, 3), bn: BN, init }));
      size = Math.ceil(size / 2);
    } else {
      layers.push(convBn(inChannels, channels, { kernel: 3, stride: 1, bn: BN, init }));
    }
    BLOCKS.forEach(([t, filters, s], i) => {
      const stride = variant === 'cifar' && i === 1 ? 1 : s;
      const out = makeDivisible(Math.trunc(filters * alpha), 8);
      layers.push(new InvertedResidual(channels, out, t, stride, size, init, BN));
      if (stride === 2) size = Math.ceil(size / 2);
      channels = out;
    });
    this.outChannels = alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280;
    layers.push(convBn(channels, this.outChannels, { kernel: 1, bn: BN, init }));
    this.features = this.registerModule('features', new Sequential(...layers));
    this.classifier = c.classes ? this.registerModule('classifier', new Linear({ inFeatures: this.outChannels, outFeatures: c.classes, init })) : null;
  }

  /** Feature map [N, outChannels, h, w]; with a top, class logits [N, classes]. */
  forward(x: Tensor): Tensor {
    const c = this.config.inChannels;
    if (x.ndim !== 4 || x.shape[1] !== c) throw new TypeError(`MobileNetV2: Expected input [N,${c},H,W] but received [${x.shape.join(',')}]`);
    if (!this.classifier) return this.features.forward(x);
    return tidy(() => this.classifier!.forward(globalAvgPool2d(this.features.forward(x))));
  }
}

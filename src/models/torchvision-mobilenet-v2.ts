// MobileNetV2 exactly as torchvision builds it (torchvision.models.mobilenet_v2; Sandler et al.
// 2018, arXiv:1801.04381): symmetric padding, BatchNorm eps 1e-5, torchvision's channel rounding
// and module layout, so that parameter names equal its state_dict keys and its ImageNet weights
// load one-to-one. It differs from the Keras-faithful MobileNetV2 (./mobilenet-v2.ts) in padding,
// BatchNorm eps and names; each loads its own framework's weights.
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Linear } from '../nn/linear.js';
import { Dropout } from '../nn/simple-layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { globalAvgPool2d } from '../nn/functional.js';
import { convBn, makeDivisible } from './building-blocks.js';

/** torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s. */
const SETTINGS: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResidual: boolean;

  constructor(inC: number, outC: number, stride: number, expansion: number) {
    super();
    const hidden = Math.round(inC * expansion);
    const layers: Module[] = [];
    if (expansion !== 1) layers.push(convBn(inC, hidden, { kernel: 1, padding: 0 }));
    layers.push(convBn(hidden, hidden, { kernel: 3, stride, padding: 1, groups: hidden }));
    layers.push(new Conv2d({ inChannels: hidden, outChannels: outC, kernelSize: 1, bias: false }), new BatchNorm2d({ numFeatures: outC }));
    this.conv = this.registerModule('conv', new Sequential(...layers));
    this.useResidual = stride === 1 && inC === outC;
  }

  forward(x: Tensor): Tensor {
    if (!this.useResidual) return this.conv.forward(x);
    return tidy(() => this.conv.forward(x).add_(x));
  }
}

export interface TorchvisionMobileNetV2Config {
  /** Width multiplier (torchvision's width_mult; its ImageNet weights are for 1.0). */
  widthMult?: number;
  /** With a number, adds torchvision's top: pooling, Dropout(0.2), Linear (1000 for ImageNet weights). */
  classes?: number;
  dropout?: number;
}

export class TorchvisionMobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential | null;
  readonly outChannels: number;
  readonly config: { widthMult: number; classes: number | null };
  /** The state_dict prefix of the classification top, which a backbone without one leaves out of the file. */
  readonly topPrefix = 'classifier.';

  constructor(c: TorchvisionMobileNetV2Config = {}) {
    super();
    const width = c.widthMult ?? 1.0;
    if (!(width > 0)) throw new TypeError(`Expected a positive widthMult but received ${width}`);
    this.config = { widthMult: width, classes: c.classes ?? null };
    let inC = makeDivisible(32 * width, 8);
    this.outChannels = makeDivisible(1280 * Math.max(1.0, width), 8);
    const layers: Module[] = [convBn(3, inC, { kernel: 3, stride: 2, padding: 1 })];
    for (const [t, ch, n, s] of SETTINGS) {
      const outC = makeDivisible(ch * width, 8);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(inC, outC, i === 0 ? s : 1, t));
        inC = outC;
      }
    }
    layers.push(convBn(inC, this.outChannels, { kernel: 1, padding: 0 }));
    this.features = this.registerModule('features', new Sequential(...layers));
    this.classifier = c.classes
      ? this.registerModule('classifier', new Sequential(new Dropout(c.dropout ?? 0.2), new Linear({ inFeatures: this.outChannels, outFeatures: c.classes })))
      : null;
  }

  /** The last feature map [N, outChannels, H/32, W/32]. */
  forwardFeatures(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new TypeError(`TorchvisionMobileNetV2: Expected input [N,3,H,W] but received [${x.shape.join(',')}]`);
    return this.features.forward(x);
  }

  /** Feature map; with a top, class logits [N, classes]. */
  forward(x: Tensor): Tensor {
    if (!this.classifier) return this.forwardFeatures(x);
    return tidy(() => this.classifier!.forward(globalAvgPool2d(this.forwardFeatures(x))));
  }
}

// ResNet-18 and ResNet-50 exactly as torchvision builds them (He et al. 2016, arXiv:1512.03385;
// torchvision.models.resnet18/resnet50, the "v1.5" form with the stride on the 3×3 convolution of
// the bottleneck), with parameter names equal to torchvision's state_dict keys, so that its
// published ImageNet weights load one-to-one (src/weights).
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Linear } from '../nn/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { globalAvgPool2d, maxPool2d } from '../nn/functional.js';
import type { FoldsOwnBatchNorm } from '../nn/fuse.js';

const conv = (inC: number, outC: number, kernel: number, stride = 1): Conv2d =>
  new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: kernel, stride, padding: (kernel - 1) / 2, bias: false });

/** Conv → BatchNorm pairs held as named children (fields of the same names), foldable for inference by fuseConvBatchNorm. */
abstract class ConvBnPairs extends Module implements FoldsOwnBatchNorm {
  protected abstract readonly pairs: [string, string][];

  foldConvBatchNorm(fold: (conv: Conv2d, bn: BatchNorm2d) => [Conv2d, Module]): void {
    const self = this as unknown as Record<string, Module>;
    for (const [c, b] of this.pairs) {
      const conv = self[c];
      const bn = self[b];
      if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d)) continue;
      const [fused, rest] = fold(conv, bn);
      this.replaceModule(c, fused);
      this.replaceModule(b, rest);
      self[c] = fused;
      self[b] = rest;
      conv.dispose();
      bn.dispose();
    }
  }
}

/** conv1x1 → BN on the shortcut when the block changes resolution or width ('downsample.0', 'downsample.1'). */
const downsample = (inC: number, outC: number, stride: number): Sequential | null =>
  (stride !== 1 || inC !== outC ? new Sequential(conv(inC, outC, 1, stride), new BatchNorm2d({ numFeatures: outC })) : null);

export class BasicBlock extends ConvBnPairs {
  static readonly expansion = 1;
  protected readonly pairs: [string, string][] = [['conv1', 'bn1'], ['conv2', 'bn2']];
  conv1: Module; bn1: Module; conv2: Module; bn2: Module;
  readonly downsample: Sequential | null;

  constructor(inC: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', conv(inC, planes, 3, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: planes }));
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: planes }));
    const ds = downsample(inC, planes, stride);
    this.downsample = ds ? this.registerModule('downsample', ds) : null;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_()));
      return h.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

export class Bottleneck extends ConvBnPairs {
  static readonly expansion = 4;
  protected readonly pairs: [string, string][] = [['conv1', 'bn1'], ['conv2', 'bn2'], ['conv3', 'bn3']];
  conv1: Module; bn1: Module; conv2: Module; bn2: Module; conv3: Module; bn3: Module;
  readonly downsample: Sequential | null;

  constructor(inC: number, planes: number, stride: number) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv(inC, planes, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: planes }));
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, stride));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: planes }));
    this.conv3 = this.registerModule('conv3', conv(planes, out, 1));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d({ numFeatures: out }));
    const ds = downsample(inC, out, stride);
    this.downsample = ds ? this.registerModule('downsample', ds) : null;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.bn1.forward(this.conv1.forward(x)).relu_();
      h = this.bn2.forward(this.conv2.forward(h)).relu_();
      h = this.bn3.forward(this.conv3.forward(h));
      return h.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

export interface TorchvisionResNetConfig {
  /** 18 (basic blocks) or 50 (bottlenecks). */
  depth: 18 | 50;
  /** With a number, adds torchvision's top: global average pooling + fc (1000 for ImageNet weights). */
  classes?: number;
}

const LAYOUT: Record<18 | 50, { block: typeof BasicBlock | typeof Bottleneck; blocks: number[] }> = {
  18: { block: BasicBlock, blocks: [2, 2, 2, 2] },
  50: { block: Bottleneck, blocks: [3, 4, 6, 3] },
};

export class TorchvisionResNet extends ConvBnPairs {
  protected readonly pairs: [string, string][] = [['conv1', 'bn1']];
  conv1: Module;
  bn1: Module;
  readonly layers: Sequential[];
  readonly fc: Linear | null;
  readonly outChannels: number;
  readonly config: { depth: 18 | 50; classes: number | null };
  /** The state_dict prefix of the classification top, which a backbone without one leaves out of the file. */
  readonly topPrefix = 'fc.';

  constructor(c: TorchvisionResNetConfig) {
    super();
    const layout = LAYOUT[c.depth];
    if (!layout) throw new TypeError(`Expected depth 18 or 50 for TorchvisionResNet but received ${c.depth}`);
    this.config = { depth: c.depth, classes: c.classes ?? null };
    this.conv1 = this.registerModule('conv1', conv(3, 64, 7, 2));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 64 }));
    let inC = 64;
    this.layers = layout.blocks.map((n, i) => {
      const planes = 64 * 2 ** i;
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(new layout.block(inC, planes, b === 0 && i > 0 ? 2 : 1));
        inC = planes * layout.block.expansion;
      }
      return this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    });
    this.outChannels = inC;
    this.fc = c.classes ? this.registerModule('fc', new Linear({ inFeatures: inC, outFeatures: c.classes })) : null;
  }

  /** The last feature map [N, outChannels, H/32, W/32]. */
  forwardFeatures(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new TypeError(`TorchvisionResNet: Expected input [N,3,H,W] but received [${x.shape.join(',')}]`);
    return tidy(() => {
      let h = maxPool2d(this.bn1.forward(this.conv1.forward(x)).relu_(), 3, { stride: 2, padding: 1 });
      for (const layer of this.layers) h = layer.forward(h);
      return h;
    });
  }

  /** Feature map; with a top, class logits [N, classes]. */
  forward(x: Tensor): Tensor {
    if (!this.fc) return this.forwardFeatures(x);
    return tidy(() => this.fc!.forward(globalAvgPool2d(this.forwardFeatures(x))));
  }
}

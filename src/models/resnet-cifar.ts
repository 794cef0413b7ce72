// ResNet-18 in its CIFAR form (He et al. 2016, arXiv:1512.03385): a 3×3 stem without max-pooling,
// four stages of two basic blocks (64, 128, 256, 512 channels), so 32×32 inputs end at 4×4.
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { convBn } from './building-blocks.js';
import type { InitScheme } from '../nn/init.js';

export class BasicBlock extends Module {
  readonly body: Sequential;
  readonly shortcut: Sequential | null;

  constructor(inC: number, outC: number, stride: number, init: InitScheme) {
    super();
    this.body = this.registerModule('body', new Sequential(
      convBn(inC, outC, { kernel: 3, stride, padding: 1, activation: 'relu', init }),
      convBn(outC, outC, { kernel: 3, padding: 1, activation: 'none', init }),
    ));
    this.shortcut = stride !== 1 || inC !== outC
      ? this.registerModule('shortcut', convBn(inC, outC, { kernel: 1, stride, padding: 0, activation: 'none', init }))
      : null;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.body.forward(x).add(this.shortcut ? this.shortcut.forward(x) : x).relu());
  }
}

export class ResNet18Cifar extends Module {
  readonly features: Sequential;
  readonly outChannels = 512;

  /** `inChannels`: 3 (default) for RGB, 1 for grayscale. */
  constructor(c: { init?: InitScheme; inChannels?: number } = {}) {
    super();
    const init = c.init ?? 'torch';
    const layers: Module[] = [convBn(c.inChannels ?? 3, 64, { kernel: 3, padding: 1, activation: 'relu', init })];
    let inC = 64;
    for (const [outC, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
      layers.push(new BasicBlock(inC, outC, stride, init), new BasicBlock(outC, outC, 1, init));
      inC = outC;
    }
    this.features = this.registerModule('features', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    return this.features.forward(x);
  }
}

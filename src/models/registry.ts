// Backbones by name, as the CLI and checkpoints refer to them.
import { MobileNetV2 } from './mobilenet-v2.js';
import { ResNet18Cifar } from './resnet-cifar.js';
import { SmallConvNet } from './small-convnet.js';
import { TorchvisionMobileNetV2 } from './torchvision-mobilenet-v2.js';
import { TorchvisionResNet } from './torchvision-resnet.js';
import { EmbeddingNet, type Backbone } from './embedding-net.js';

export interface BackboneSpec {
  /** 'mobilenetv2' (Keras-faithful), 'mobilenetv2-cifar', 'resnet18-cifar', 'convnet', or torchvision's 'torchvision-mobilenet_v2', 'torchvision-resnet18', 'torchvision-resnet50'. */
  name: string;
  /** MobileNetV2 width multiplier (default 0.5, the seed's). */
  alpha?: number;
  inputSize?: number;
  /** Optional linear projection to this embedding size. */
  projectionDim?: number;
  /** MobileNetV2's BatchNorm momentum (PyTorch convention; default Keras's, 0.001). */
  bnMomentum?: number;
  /** Input channels: 3 (default) for RGB, 1 for grayscale datasets. */
  inChannels?: number;
}

/** torchvision's architectures keep ImageNet's 3-channel stem, so their published weights load. */
function rgbOnly(name: string, s: BackboneSpec): void {
  if (s.inChannels !== undefined && s.inChannels !== 3) {
    throw new TypeError(`Expected 3 input channels for ${name} (its ImageNet weights take RGB) but received ${s.inChannels}; use --channels 3`);
  }
}

const BUILDERS: Record<string, (s: BackboneSpec) => Backbone> = {
  mobilenetv2: (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, bnMomentum: s.bnMomentum, inChannels: s.inChannels }),
  'mobilenetv2-cifar': (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, variant: 'cifar', bnMomentum: s.bnMomentum, inChannels: s.inChannels }),
  'resnet18-cifar': (s) => new ResNet18Cifar({ inChannels: s.inChannels }),
  convnet: (s) => new SmallConvNet({ inChannels: s.inChannels }),
  // torchvision's ImageNet architectures, named as their state_dicts so its published weights load (--weights).
  'torchvision-mobilenet_v2': (s) => {
    rgbOnly('torchvision-mobilenet_v2', s);
    return new TorchvisionMobileNetV2();
  },
  'torchvision-resnet18': (s) => {
    rgbOnly('torchvision-resnet18', s);
    return new TorchvisionResNet({ depth: 18 });
  },
  'torchvision-resnet50': (s) => {
    rgbOnly('torchvision-resnet50', s);
    return new TorchvisionResNet({ depth: 50 });
  },
};

export const BACKBONES = Object.keys(BUILDERS);

export function createBackbone(spec: BackboneSpec): Backbone {
  const build = BUILDERS[spec.name];
  if (!build) throw new TypeError(`Expected a backbone among ${BACKBONES.join(', ')} but received ${JSON.stringify(spec.name)}`);
  return build(spec);
}

export function createEmbeddingNet(spec: BackboneSpec): EmbeddingNet {
  return new EmbeddingNet(createBackbone(spec), { projectionDim: spec.projectionDim });
}

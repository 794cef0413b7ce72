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
}

const BUILDERS: Record<string, (s: BackboneSpec) => Backbone> = {
  mobilenetv2: (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, bnMomentum: s.bnMomentum }),
  'mobilenetv2-cifar': (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, variant: 'cifar', bnMomentum: s.bnMomentum }),
  'resnet18-cifar': () => new ResNet18Cifar(),
  convnet: () => new SmallConvNet(),
  // torchvision's ImageNet architectures, named as their state_dicts so its published weights load (--weights).
  'torchvision-mobilenet_v2': () => new TorchvisionMobileNetV2(),
  'torchvision-resnet18': () => new TorchvisionResNet({ depth: 18 }),
  'torchvision-resnet50': () => new TorchvisionResNet({ depth: 50 }),
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

// Backbones by name, as the CLI and checkpoints refer to them.
import { MobileNetV2 } from './mobilenet-v2.js';
import { ResNet18Cifar } from './resnet-cifar.js';
import { SmallConvNet } from './small-convnet.js';
import { EmbeddingNet, type Backbone } from './embedding-net.js';

export interface BackboneSpec {
  /** 'mobilenetv2' (Keras-faithful), 'mobilenetv2-cifar', 'resnet18-cifar' or 'convnet'. */
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

const BUILDERS: Record<string, (s: BackboneSpec) => Backbone> = {
  mobilenetv2: (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, bnMomentum: s.bnMomentum, inChannels: s.inChannels }),
  'mobilenetv2-cifar': (s) => new MobileNetV2({ alpha: s.alpha ?? 0.5, inputSize: s.inputSize ?? 32, variant: 'cifar', bnMomentum: s.bnMomentum, inChannels: s.inChannels }),
  'resnet18-cifar': (s) => new ResNet18Cifar({ inChannels: s.inChannels }),
  convnet: (s) => new SmallConvNet({ inChannels: s.inChannels }),
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

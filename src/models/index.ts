// Backbones and embedding networks: re-exports only.
export { MobileNetV2, MOBILENET_V2_ALPHAS, type MobileNetV2Config } from './mobilenet-v2.js';
export { ResNet18Cifar } from './resnet-cifar.js';
export { SmallConvNet } from './small-convnet.js';
export { TorchvisionMobileNetV2, type TorchvisionMobileNetV2Config } from './torchvision-mobilenet-v2.js';
export { TorchvisionResNet, type TorchvisionResNetConfig } from './torchvision-resnet.js';
export { ConvAutoencoder, type ConvAutoencoderConfig } from './conv-autoencoder.js';
export { EmbeddingNet, type Backbone } from './embedding-net.js';
export { createBackbone, createEmbeddingNet, BACKBONES, type BackboneSpec } from './registry.js';
export { convBn, kerasCorrectPad, makeDivisible } from './building-blocks.js';

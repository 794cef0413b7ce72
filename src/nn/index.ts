// Neural-network building blocks: re-exports only.
export { Module, type StateDict } from './module.js';
export { Conv2d, ConvTranspose2d, type Conv2dConfig, type ConvTranspose2dConfig } from './conv.js';
export { BatchNorm1d, BatchNorm2d, KERAS_BN, type BatchNormConfig } from './batchnorm.js';
export { Linear, type LinearConfig } from './linear.js';
export { AvgPool2d, Dropout, Flatten, GELU, GlobalAvgPool2d, Hardswish, Lambda, LeakyReLU, MaxPool2d, ReLU, ReLU6, Sigmoid, SiLU, Tanh, ZeroPad2d } from './simple-layers.js';
export { Sequential, Residual } from './containers.js';
export { type InitScheme, glorotUniform, torchDefaultWeight, uniform } from './init.js';
export { fuseConvBatchNorm } from './fuse.js';

// Inference-time folding of BatchNorm into the convolution before it: y = γ·(W∗x + b − μ)/√(σ²+ε) + β
// is a convolution with W' = W·γ/√(σ²+ε) and b' = β + (b − μ)·γ/√(σ²+ε). One op instead of two per layer.
import { Module } from './module.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './batchnorm.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';

/** Stands where a folded BatchNorm was; a fused model only infers. */
export class FoldedBatchNorm extends Module {
  forward(x: Tensor): Tensor {
    if (this.training) throw new Error('This BatchNorm was folded into the convolution before it for inference: a fused model cannot train; load the checkpoint again to train');
    return x;
  }
}

/** The folded kernel W' and bias b' (new tensors; the caller disposes them). */
export function foldedConvParameters(conv: Conv2d, bn: BatchNorm2d): { weight: Tensor; bias: Tensor } {
  return noGrad(() => tidy(() => {
    const scale = bn.runningVar.add(bn.eps).rsqrt().mul(bn.weight ?? 1);
    const shift = (conv.bias ? conv.bias.sub(bn.runningMean) : bn.runningMean.neg()).mul(scale).add(bn.bias ?? 0);
    return { weight: conv.weight.mul(scale.reshape(-1, 1, 1, 1)), bias: shift };
  }));
}

function fold(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  const fused = new Conv2d({ ...conv.config, bias: true });
  const { weight, bias } = foldedConvParameters(conv, bn);
  noGrad(() => {
    fused.weight.copy_(weight);
    fused.bias!.copy_(bias);
  });
  weight.dispose();
  bias.dispose();
  return fused.toChannelsLast();
}

/**
 * A module whose convolution → BatchNorm pairs are named children rather than neighbours in a
 * Sequential (torchvision's ResNet: conv1/bn1, …) folds them itself with the function given, which
 * returns the fused convolution and what stands where the BatchNorm was.
 */
export interface FoldsOwnBatchNorm {
  foldConvBatchNorm(fold: (conv: Conv2d, bn: BatchNorm2d) => [Conv2d, Module]): void;
}

function foldsOwnBatchNorm(m: Module): m is Module & FoldsOwnBatchNorm {
  return typeof (m as Partial<FoldsOwnBatchNorm>).foldConvBatchNorm === 'function';
}

/**
 * Folds every BatchNorm2d that directly follows a Conv2d in a Sequential into that convolution,
 * in place, and puts the model in eval mode. For inference only (eval, embed, anomaly scoring):
 * the outputs equal the unfused model's in eval mode, with one op less per layer.
 */
export function fuseConvBatchNorm<M extends Module>(model: M): M {
  model.eval();
  for (const [, m] of model.namedModules()) {
    if (foldsOwnBatchNorm(m)) m.foldConvBatchNorm((conv, bn) => [fold(conv, bn), new FoldedBatchNorm().eval()]);
    if (!(m instanceof Sequential)) continue;
    for (let i = 0; i + 1 < m.layers.length; i++) {
      const conv = m.layers[i];
      const bn = m.layers[i + 1];
      if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d)) continue;
      const folded = fold(conv, bn);
      m.replaceLayer(i, folded).dispose();
      m.replaceLayer(i + 1, new FoldedBatchNorm().eval()).dispose();
    }
  }
  return model;
}

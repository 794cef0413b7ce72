// Features from several depths of a backbone: the globally average-pooled output of chosen layers
// of its `features` Sequential (every backbone here has one), for detectors that look at more than
// the last layer (e.g. Mahalanobis at several depths, Lee et al. 2018).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { Sequential } from '../nn/containers.js';
import { globalAvgPool2d } from '../nn/functional.js';
import type { Module } from '../nn/module.js';

/** The backbone's layer chain, or a clear error for one without it. */
export function featureLayers(backbone: Module): Sequential {
  const features = (backbone as { features?: unknown }).features;
  if (!(features instanceof Sequential)) {
    throw new TypeError(`Expected a backbone with a 'features' Sequential (MobileNetV2, ResNet-18, ConvNet) to take features at several depths but received ${backbone.constructor.name}`);
  }
  return features;
}

/** Layer indices (negative counts from the end, −1 = the last) resolved against n layers, checked. */
export function resolveDepths(layers: readonly number[], n: number): number[] {
  if (layers.length === 0) throw new RangeError('Expected at least one layer index for features at several depths but received none');
  return layers.map((l) => {
    const i = l < 0 ? n + l : l;
    if (!Number.isInteger(l) || i < 0 || i >= n) throw new RangeError(`Expected layer indices between ${-n} and ${n - 1} (the backbone has ${n} feature layers) but received ${l}`);
    return i;
  });
}

/**
 * [N, C_l] pooled features of x [N,C,H,W] after each chosen layer of backbone.features, in the
 * order given. The caller sets eval mode and grad mode.
 */
export function depthFeatures(backbone: Module, x: Tensor, layers: readonly number[]): Tensor[] {
  const chain = featureLayers(backbone);
  const depths = resolveDepths(layers, chain.layers.length);
  const last = Math.max(...depths);
  return tidy(() => {
    const pooled = new Map<number, Tensor>();
    let h = x;
    for (let i = 0; i <= last; i++) {
      h = chain.layers[i].forward(h);
      if (depths.includes(i)) pooled.set(i, globalAvgPool2d(h));
    }
    return depths.map((d) => pooled.get(d)!);
  });
}

// How pixels become model inputs, chosen per dataset: pixels/255 ('unit', the seed's), fixed
// per-channel mean/std presets (CIFAR-10's, ImageNet's), or the mean/std of the training split
// itself ('standard'). The chosen values are stored with the trained model (its TrainConfig), so
// evaluation and scoring reuse them. InputNormalization is the one type for this scaling: it is
// defined here, the lowest layer that chooses it, and src/inference applies it to tensors.

import { CIFAR10_MEAN, CIFAR10_STD } from './sources/cifar10-constants.js';
import { imagesInRange, type AnyImageDataset } from './cache/file-image-dataset.js';

export const NORMALIZATIONS = ['unit', 'none', 'standard', 'cifar10', 'imagenet'] as const;
export type NormalizationName = (typeof NORMALIZATIONS)[number];

export interface InputNormalization {
  /** 'unit': x = pixels / 255 (the seed's). 'standard': x = (pixels / 255 − mean) / std per channel. */
  kind: 'unit' | 'standard';
  mean?: readonly number[];
  std?: readonly number[];
}

/** @deprecated The former name of InputNormalization (the same type). */
export type DatasetNormalization = InputNormalization;

/** torchvision's and timm's ImageNet statistics (of pixels / 255), RGB: the inputs pretrained ImageNet weights expect. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Per-channel mean and standard deviation of pixels/255 over every image (read in chunks). */
export function channelStatistics(dataset: AnyImageDataset): { mean: number[]; std: number[] } {
  const c = dataset.channels;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  const n = dataset.labels.length;
  const chunk = Math.max(1, Math.floor((1 << 24) / (dataset.height * dataset.width * c)));
  for (let start = 0; start < n; start += chunk) {
    const pixels = imagesInRange(dataset, start, Math.min(n, start + chunk));
    // Integer sums per channel are exact; one pass over bytes.
    const s = new Float64Array(c);
    const q = new Float64Array(c);
    for (let i = 0; i < pixels.length; i += c) {
      for (let k = 0; k < c; k++) {
        const v = pixels[i + k];
        s[k] += v;
        q[k] += v * v;
      }
    }
    for (let k = 0; k < c; k++) {
      sum[k] += s[k];
      sumSq[k] += q[k];
    }
  }
  const count = n * dataset.height * dataset.width;
  if (count === 0) throw new RangeError('Expected at least one training image to compute normalization statistics but received 0');
  const mean = Array.from(sum, (v) => v / count / 255);
  const std = Array.from(sumSq, (v, k) => Math.sqrt(Math.max(0, v / count / (255 * 255) - mean[k] * mean[k])));
  // A constant channel would divide by zero; leave it unscaled instead.
  return { mean, std: std.map((s) => (s > 1e-6 ? s : 1)) };
}

/**
 * The normalization named `name` for this training set. 'standard' uses CIFAR-10's published
 * constants when `isCifar10` (they are its training split's statistics), else computes them.
 */
export function chooseNormalization(name: NormalizationName, train: AnyImageDataset, isCifar10 = false): InputNormalization {
  const preset = (label: string, mean: readonly number[], std: readonly number[]): InputNormalization => {
    if (train.channels !== mean.length) {
      throw new RangeError(`Expected ${mean.length}-channel images for the ${label} normalization but the dataset has ${train.channels}; use --normalize standard (statistics of the training split) or --channels ${mean.length}`);
    }
    return { kind: 'standard', mean: [...mean], std: [...std] };
  };
  switch (name) {
    case 'unit':
    case 'none':
      return { kind: 'unit' };
    case 'cifar10':
      return preset('CIFAR-10', CIFAR10_MEAN, CIFAR10_STD);
    case 'imagenet':
      return preset('ImageNet', IMAGENET_MEAN, IMAGENET_STD);
    case 'standard':
      if (isCifar10 && train.channels === 3) return preset('CIFAR-10', CIFAR10_MEAN, CIFAR10_STD);
      return { kind: 'standard', ...channelStatistics(train) };
    default:
      throw new TypeError(`Expected a normalization among ${NORMALIZATIONS.join(', ')} but received ${JSON.stringify(name)}`);
  }
}

// What the detector and serve benchmarks share: noise images and a kNN detector of the seed's
// model fitted on them (untrained weights: speed does not depend on them).
import { manualSeed } from '../src/index.js';
import { createEmbeddingNet, type BackboneSpec } from '../src/models/registry.js';
import { createHead } from '../src/losses/registry.js';
import { fitDetector } from '../src/anomaly/fit-detector.js';
import type { AnomalyDetector } from '../src/anomaly/anomaly-detector.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../src/data/sources/cifar10-constants.js';
import type { ImageDataset } from '../src/data/dataset.js';

/** n seeded 32×32 RGB noise images. */
export function noiseImages(n: number, seed: number): ImageDataset {
  const images = new Uint8Array(n * 3072);
  let s = seed;
  for (let i = 0; i < images.length; i++) images[i] = (s = (s * 1664525 + 1013904223) >>> 0) >>> 24;
  return { images, labels: new Int32Array(n), height: 32, width: 32, channels: 3, classes: ['normal', 'other'] };
}

/** MobileNetV2 α 0.5 with a kNN detector over `normals` noise images; the caller disposes it. */
export function fitNoiseDetector(normals: number): AnomalyDetector {
  manualSeed(0);
  const spec: BackboneSpec = { name: 'mobilenetv2', alpha: 0.5, inputSize: 32 };
  const model = createEmbeddingNet(spec);
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 2 });
  try {
    return fitDetector({
      method: { kind: 'embedding', model, backbone: spec, head, scorer: 'knn' }, normal: noiseImages(normals, 1), validation: noiseImages(200, 2),
      normalization: { kind: 'standard', mean: CIFAR10_MEAN, std: CIFAR10_STD }, storeImages: false,
    });
  } finally {
    model.dispose();
    head.dispose();
  }
}

// A tiny detector for the serve and export tests: a small ConvNet (weights made to look trained)
// with a k-NN scorer fitted on noisy red 32×32 images, or the autoencoder baseline; normal images
// stored for thumbnails. Fitting takes well under a second.
import sharp from 'sharp';
import { manualSeed } from '../../src/index.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { createEmbeddingNet, type BackboneSpec } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { fitDetector } from '../../src/anomaly/fit-detector.js';
import type { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { perturbLikeTrained } from '../export/onnx-helpers.js';

/** n noisy 32×32 images around a colour, named `${name}-i.png`. */
export function colourSet(n: number, rgb: [number, number, number], seed: number, name: string, classes = ['red', 'blue']): ImageDataset {
  let s = seed;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const images = new Uint8Array(n * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.max(0, Math.min(255, rgb[i % 3] + (rand() - 0.5) * 100));
  return { images, labels: new Int32Array(n), height: 32, width: 32, channels: 3, classes, files: Array.from({ length: n }, (_, i) => `${name}-${i}.png`) };
}

export const RED: [number, number, number] = [200, 40, 40];
export const BLUE: [number, number, number] = [40, 40, 200];

/** A fitted detector: 'knn' (ConvNet + softmax head + k-NN scorer, standard scaling) or 'autoencoder'. */
export function tinyDetector(kind: 'knn' | 'autoencoder' = 'knn'): AnomalyDetector {
  manualSeed(5);
  const normal = colourSet(24, RED, 1, 'normal');
  const validation = colourSet(12, RED, 2, 'val');
  const anomalies = colourSet(8, BLUE, 3, 'anomaly');
  if (kind === 'autoencoder') {
    const ae = new ConvAutoencoder({ widths: [8, 16, 16] });
    perturbLikeTrained(ae, { channels: 3, height: 32, width: 32 });
    try {
      return fitDetector({ method: { kind: 'autoencoder', autoencoder: ae, widths: [8, 16, 16] }, normal, validation, anomalies, classes: ['red'], normalization: { kind: 'unit' } });
    } finally {
      ae.dispose();
    }
  }
  const spec: BackboneSpec = { name: 'convnet' };
  const model = createEmbeddingNet(spec);
  perturbLikeTrained(model, { channels: 3, height: 32, width: 32 });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 2 });
  try {
    return fitDetector({
      method: { kind: 'embedding', model, backbone: spec, head, scorer: 'knn', scorerOptions: { k: 3 } }, normal, validation, anomalies,
      classes: ['red', 'blue'], normalization: { kind: 'standard', mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
    });
  } finally {
    model.dispose();
    head.dispose();
  }
}

/** Image i of a set as an encoded file (PNG by default). */
export async function encodeImage(d: ImageDataset, i: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const raw = Buffer.from(d.images.buffer, d.images.byteOffset + i * 3072, 3072);
  const s = sharp(raw, { raw: { width: 32, height: 32, channels: 3 } });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 95 }).toBuffer();
}

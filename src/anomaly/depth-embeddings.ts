// Pooled features at several depths for every image of a dataset, in eval mode without grad,
// optionally averaged with the mirrored image's (flip test-time augmentation).
import type { Tensor } from '../tensor/tensor.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { cat } from '../tensor/combine.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import type { ImageDataset } from '../data/dataset.js';
import { type InputNormalization, datasetSlice, inEvalMode, ranges } from '../inference/index.js';
import { depthFeatures } from '../models/depth-features.js';
import type { TestTimeAugmentation } from './rotation/rotation-score.js';

/** One kept [N, C_l] CPU tensor per chosen layer of model.backbone.features; the caller disposes them. */
export function embedDepths(model: Module & { backbone: Module }, data: ImageDataset, layers: readonly number[],
  o: { norm: InputNormalization; device?: Device; batchSize?: number; tta?: TestTimeAugmentation }): Tensor[] {
  return inEvalMode([model], () => noGrad(() => {
    const parts: Tensor[][] = layers.map(() => []);
    try {
      for (const [s, e] of ranges(data.labels.length, o.batchSize ?? 500)) {
        const batch = tidy(() => {
          const x = datasetSlice(data, s, e, o.norm, o.device ?? 'cpu');
          const plain = depthFeatures(model.backbone, x, layers);
          if (o.tta !== 'flip') return plain.map((f) => f.to('cpu'));
          const mirrored = depthFeatures(model.backbone, x.flip(3), layers);
          return plain.map((f, i) => f.add(mirrored[i]).div(2).to('cpu'));
        });
        for (const [i, f] of batch.entries()) parts[i].push(keep(f));
      }
      return parts.map((p) => keep(cat(p)));
    } finally {
      for (const p of parts) dispose(p);
    }
  }));
}

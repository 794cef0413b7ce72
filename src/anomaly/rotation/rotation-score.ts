// The one-class rotation score (Golan & El-Yaniv 2018): an image the rotation head recognises in
// all four orientations is normal; score = −Σ_r log p(r | image turned by r·90°), higher = more
// anomalous. With flip test-time augmentation the score of the mirrored image is averaged in
// (mirroring first, then rotating: a mirrored 90° turn would look like a 270° one).
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import type { Module } from '../../nn/module.js';
import type { Device } from '../../tensor/device.js';
import type { ImageDataset } from '../../data/dataset.js';
import { type InputNormalization, datasetSlice, inEvalMode, ranges } from '../../inference/index.js';
import type { RotationHead } from '../../losses/rotation-head.js';
import { ROTATION_COUNT, rotationBatch } from '../../losses/rotate.js';

/** 'flip': average with the horizontally mirrored image's score. */
export type TestTimeAugmentation = 'none' | 'flip';

/** [N] rotation scores of model inputs x [N,C,H,W]; the caller sets eval mode. */
export function rotationScore(model: Module, head: RotationHead, x: Tensor, tta: TestTimeAugmentation = 'none'): Tensor {
  return noGrad(() => tidy(() => {
    const one = (input: Tensor): Tensor => {
      const { images, labels } = rotationBatch(input);
      const logp = head.logits(model.forward(images)).logSoftmax(1).gather(1, labels.unsqueeze(1));
      return logp.reshape(ROTATION_COUNT, input.shape[0]).sum(0).neg();
    };
    return tta === 'flip' ? one(x).add(one(x.flip(3))).div(2) : one(x);
  }));
}

/** Rotation scores of every image of a dataset, in eval mode. */
export function rotationScores(model: Module, head: RotationHead, data: ImageDataset,
  o: { norm: InputNormalization; device?: Device; batchSize?: number; tta?: TestTimeAugmentation }): number[] {
  const out: number[] = [];
  inEvalMode([model, head], () => {
    for (const [s, e] of ranges(data.labels.length, o.batchSize ?? 250)) {
      out.push(...tidy(() => rotationScore(model, head, datasetSlice(data, s, e, o.norm, o.device ?? 'cpu'), o.tta).to('cpu').toNumbers()));
    }
  });
  return out;
}

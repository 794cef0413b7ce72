// Rotation prediction as a training-step hook (BatchTask), in its two uses:
// - 'auxiliary' (Hendrycks et al. 2019): every batch is shown in its 4 rotations in one forward
//   pass; the class head sees the unrotated rows, a RotationHead all rows, and its cross-entropy,
//   times `weight`, is added to the class loss.
// - 'only' (one-class, GEOM-style): the head trained is itself a RotationHead; it sees all rows
//   with their rotation labels, and the class labels are ignored.
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { checkPositive } from '../tensor/checks.js';
import { RotationHead } from '../losses/rotation-head.js';
import type { BatchTask, BatchTaskStep } from './batch-task.js';
import { rotationBatch } from '../losses/rotate.js';

export class RotationAuxiliaryTask implements BatchTask {
  readonly name = 'rotation';
  readonly module: RotationHead;
  readonly weight: number;

  /** head: the rotation head trained beside the class head; weight: its loss's weight (Hendrycks et al. use 0.5). */
  constructor(head: RotationHead, opts: { weight?: number } = {}) {
    if (!(head instanceof RotationHead)) throw new TypeError('Expected a RotationHead for the rotation auxiliary task');
    this.module = head;
    this.weight = checkPositive(opts.weight ?? 0.5, 'weight of the rotation auxiliary task');
  }

  forward(model: Module, x: Tensor, y: Tensor): BatchTaskStep {
    const n = x.shape[0];
    const { images, labels } = rotationBatch(x);
    // One pass over all 4N rows, so BatchNorm normalises the rotations together, as in the paper.
    const all = model.forward(images);
    return { embeddings: all.narrow(0, 0, n), labels: y, loss: this.module.loss(all, labels).mul(this.weight) };
  }
}

export class RotationOnlyTask implements BatchTask {
  readonly name = 'rotation-only';
  readonly module = null;

  forward(model: Module, x: Tensor, _y: Tensor): BatchTaskStep {
    const { images, labels } = rotationBatch(x);
    return { embeddings: model.forward(images), labels, loss: null };
  }
}

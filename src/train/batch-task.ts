// A training-step hook: how a batch goes through the model before the head's loss. The default
// step is `head.loss(model(x), y)`; a task may expand the batch (e.g. into its rotations), choose
// the rows and labels the head sees, and add a loss of its own with its own trainable module.
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

export interface BatchTaskStep {
  /** Embeddings given to the head's loss. */
  embeddings: Tensor;
  /** Their labels (int64), for the head's loss and the training accuracy. */
  labels: Tensor;
  /** The task's own loss, already weighted, added to the head's; null when it has none. */
  loss: Tensor | null;
}

export interface BatchTask {
  /** Short name for logs and checkpoints. */
  readonly name: string;
  /** Trained with the model: its parameters join the optimizer and its state the checkpoints (null: nothing to train). */
  readonly module: Module | null;
  /** One training batch: x [N,C,H,W] model input, y [N] int64 labels. Called inside the step's tidy scope. */
  forward(model: Module, x: Tensor, y: Tensor): BatchTaskStep;
}

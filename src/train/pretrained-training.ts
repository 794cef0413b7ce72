// How a pretrained backbone takes part in training: frozen (no gradient, BatchNorm statistics kept
// in eval mode), at a fraction of the head's learning rate, or not trained at all (--epochs 0:
// frozen features, validated once and checkpointed, for k-NN and the other scorers).
import type { Tensor } from '../tensor/tensor.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { Head } from '../losses/head.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ParamGroupsOptimizer } from '../optim/param-groups.js';
import { stratifiedSubset } from '../data/splits.js';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { evaluate } from './evaluate.js';
import { saveCheckpoint } from './checkpoint.js';
import type { TrainConfig, TrainResult, TrainRun } from './trainer.js';

/** Whether the backbone trains differently from the head (frozen, or at its own learning rate). */
export function backboneHasOwnGroup(c: TrainConfig): boolean {
  return (c.freezeBackbone ?? false) || (c.backboneLrMult ?? 1) !== 1;
}

/**
 * The optimizer when backboneHasOwnGroup: with freezeBackbone the backbone's parameters stop
 * requiring grad and stay out of it; with backboneLrMult they form a group at lr × mult.
 * Call after toChannelsLast (which re-enables grad on the tensors it replaces).
 */
export function createBackboneGroupsOptimizer(model: EmbeddingNet, head: Head, c: TrainConfig, taskParameters: Tensor[] = []): Optimizer {
  const backbone = new Set(model.backbone.parameters());
  const rest = [...model.parameters().filter((p) => !backbone.has(p)), ...head.parameters(), ...taskParameters];
  if (c.freezeBackbone) {
    for (const p of backbone) p.requiresGrad_(false);
    return new ParamGroupsOptimizer(c.optimizer, [{ params: rest }]);
  }
  return new ParamGroupsOptimizer(c.optimizer, [{ params: rest }, { params: [...backbone], lrMult: c.backboneLrMult ?? 1 }]);
}

/** Training mode for one epoch: a frozen backbone keeps its BatchNorm running statistics (eval mode). */
export function setTrainingMode(model: EmbeddingNet, head: Head, c: TrainConfig): void {
  model.train();
  head.train();
  if (c.freezeBackbone) model.backbone.eval();
}

const CENTROID_REFERENCE_SIZE = 5000;

/**
 * --epochs 0: no training. The model (pretrained backbone, untouched head) is validated once and
 * written as last.ckpt and best.ckpt at epoch 0, so eval, embed and the scorers can use it.
 */
export function untrainedRun(run: TrainRun): TrainResult {
  const { model, head, config: c } = run;
  mkdirSync(run.dir, { recursive: true });
  model.toChannelsLast();
  const t0 = performance.now();
  const reference = head.classifies ? undefined
    : run.train.labels.length <= CENTROID_REFERENCE_SIZE ? run.train : stratifiedSubset(run.train, { size: CENTROID_REFERENCE_SIZE, seed: c.seed });
  const val = evaluate(model, head, run.val, { norm: c.normalization, device: c.device ?? 'cpu', reference });
  const extra = { valAcc: val.accuracy, model: run.modelSpec ?? null, head: head.config(), classes: run.train.classes };
  for (const name of ['last.ckpt', 'best.ckpt']) saveCheckpoint(join(run.dir, name), { modules: { model, head }, epoch: 0, history: [], config: c, extra });
  (run.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(`${run.label ?? head.name}: --epochs 0, no training; validation accuracy of the untrained head ` +
    `${val.accuracy.toFixed(4)}${head.classifies ? ' (its logits are untrained: chance level expected)' : ' (nearest class centroid of the frozen features)'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { history: [], bestValAcc: val.accuracy, bestEpoch: 0, finalValAcc: val.accuracy, trainSeconds: 0, stoppedEarly: false, interrupted: false };
}

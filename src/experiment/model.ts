// Building a backbone + head from typed options: the model construction the training commands and
// the anomaly protocol share (the CLI turns its flags into ModelOptions, src/cli/experiment.ts).
import { resolve } from 'node:path';
import type { DatasetInput } from '../data/load-dataset.js';
import { createEmbeddingNet, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { createHead } from '../losses/registry.js';
import type { Head } from '../losses/head.js';
import { RotationHead } from '../losses/rotation-head.js';
import { RotationAuxiliaryTask, RotationOnlyTask } from '../train/rotation-task.js';
import type { BatchTask } from '../train/batch-task.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { loadWeights } from '../weights/load-weights.js';
import { UsageError } from '../errors.js';

/** The head name of the one-class rotation model (GEOM-style): trained on normal images only, rotation its only task. */
export const ONE_CLASS_ROTATION = 'rotation';

/** Which network to build and where: the backbone, its options and the seed every head starts from. */
export interface ModelOptions {
  /** A backbone of the models registry, e.g. 'mobilenetv2', 'convnet'. */
  backbone: string;
  /** MobileNetV2 width multiplier. */
  alpha?: number;
  projectionDim?: number;
  bnMomentum?: number;
  /** Options per head name, e.g. { arcface: { margin: 0.3 } }. */
  headOptions?: Record<string, Record<string, unknown>>;
  /** Seeds the initialisation, so that every head starts from the same backbone. */
  seed: number;
  device?: Device;
}

type InputShape = Pick<DatasetInput, 'height' | 'channels'>;

/** With the data's input, the model takes its channels (and MobileNetV2 its size, for Keras's padding rule). */
export function backboneSpec(m: Pick<ModelOptions, 'backbone' | 'alpha' | 'projectionDim' | 'bnMomentum'>, input?: InputShape): BackboneSpec {
  return {
    name: m.backbone, alpha: m.alpha as number, projectionDim: m.projectionDim, bnMomentum: m.bnMomentum,
    ...(input ? { inChannels: input.channels, inputSize: input.height } : {}),
  };
}

/** A fresh backbone + head, initialised from the seed so that every head starts from the same backbone. */
export function buildModel(m: ModelOptions, headName: string, numClasses: number, input?: InputShape): { model: EmbeddingNet; head: Head } {
  manualSeed(m.seed);
  const model = createEmbeddingNet(backboneSpec(m, input));
  const headOpts = m.headOptions?.[headName] ?? {};
  const head = createHead(headName, { embeddingDim: model.embeddingDim, numClasses, ...headOpts });
  if (m.device !== undefined && m.device !== 'cpu') {
    model.to(m.device as 'cuda');
    head.to(m.device as 'cuda');
  }
  return { model, head };
}

/** The one-class rotation model: the backbone seeded as every head's, a RotationHead as its only head. */
export function buildOneClassRotation(m: ModelOptions, input?: InputShape): { model: EmbeddingNet; head: RotationHead; task: BatchTask } {
  manualSeed(m.seed);
  const model = createEmbeddingNet(backboneSpec(m, input));
  const head = new RotationHead({ embeddingDim: model.embeddingDim });
  if (m.device !== undefined && m.device !== 'cpu') {
    model.to(m.device as 'cuda');
    head.to(m.device as 'cuda');
  }
  return { model, head, task: new RotationOnlyTask() };
}

/** The auxiliary rotation task of a class head's network (seeded after the network): a RotationHead and its weighted loss. */
export function auxiliaryRotation(model: EmbeddingNet, o: { weight: number; device?: Device }): { task: BatchTask; rotationHead: RotationHead } {
  const rotationHead = new RotationHead({ embeddingDim: model.embeddingDim });
  if (o.device !== undefined && o.device !== 'cpu') rotationHead.to(o.device as 'cuda');
  return { task: new RotationAuxiliaryTask(rotationHead, { weight: o.weight }), rotationHead };
}

/** Loads pretrained weights into the model's backbone (its top, if the file has one, left out); no file, nothing to do. */
export async function loadPretrainedWeights(file: string | undefined, model: EmbeddingNet, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  if (!file) return;
  const r = await loadWeights(model, resolve(file));
  log(`weights: loaded ${r.loaded} tensors from ${file} (${r.format}${r.hashPrefix ? `, SHA-256 ${r.hashPrefix}… verified` : ''}` +
    `${r.skipped.length ? `; left out ${r.skipped.length}: the classification top and BatchNorm batch counters` : ''})`);
}

/** The trainer drops the last partial batch: a batch larger than the training set would leave none. */
export function checkBatchFits(batchSize: number, trainingImages: number): void {
  if (batchSize > trainingImages) throw new UsageError(`Expected --batch-size of at most the ${trainingImages} training images but received ${batchSize}`);
}

// What the training commands share: loading the data, building backbone + head, the train config.
import { resolve } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { loadCifar10 } from '../data/cifar10.js';
import { stratifiedSubset } from '../data/splits.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/cifar10-constants.js';
import { CIFAR10_AUGMENT } from '../data/transforms.js';
import { createEmbeddingNet, BACKBONES, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { createHead, HEAD_NAMES } from '../losses/registry.js';
import type { Head } from '../losses/head.js';
import { manualSeed } from '../tensor/creation.js';
import { setNumThreads } from '../tensor/runtime.js';
import { checkDevice } from '../tensor/device.js';
import type { TrainConfig } from '../train/trainer.js';
import { loadWeights, weightsNormalization } from '../weights/load-weights.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';

/** Options every training command takes; defaults are the seed experiment's. */
export const TRAINING_OPTIONS: Record<string, OptionSpec> = {
  data: { type: 'string', env: 'DEEPMETRIC_CIFAR10', description: 'CIFAR-10 source: official URL, cifar-10-binary.tar.gz, cifar-10-batches-bin/, or an image-folder archive/folder with train/<class>/ and test/<class>/ (default: ../shared/datasets/cifar10-jpeg.tar.gz when present, else the official URL)' },
  'cache-dir': { type: 'string', env: 'DEEPMETRIC_CACHE', description: 'Where downloads and decoded datasets are cached (default .cache/deepmetric)' },
  backbone: { type: 'string', default: 'mobilenetv2', choices: BACKBONES, description: 'Backbone network' },
  alpha: { type: 'number', default: 0.5, description: 'MobileNetV2 width multiplier' },
  'bn-momentum': { type: 'number', description: "MobileNetV2 BatchNorm momentum, PyTorch convention (default Keras's 0.999, i.e. 0.001; 0.01-0.1 settles faster in short runs)" },
  'projection-dim': { type: 'number', integer: true, min: 1, description: 'Add a linear projection to this embedding size' },
  epochs: { type: 'number', integer: true, min: 0, default: 10, description: 'Training epochs; 0 = no training: the (pretrained) backbone embeds as it is, validated once and checkpointed' },
  'batch-size': { type: 'number', integer: true, min: 2, default: 128, description: 'Images per batch' },
  optimizer: { type: 'string', default: 'adam-amsgrad', choices: ['adam-amsgrad', 'adam', 'adamw', 'sgd'], description: 'Optimizer' },
  lr: { type: 'number', default: 1e-4, description: 'Learning rate (peak, with a schedule)' },
  'weight-decay': { type: 'number', default: 0, description: 'Weight decay' },
  schedule: { type: 'string', default: 'constant', choices: ['constant', 'cosine', 'step'], description: 'Learning-rate schedule' },
  'warmup-epochs': { type: 'number', default: 0, description: 'Linear warm-up epochs' },
  augment: { type: 'boolean', default: false, description: 'Random crop (pad 4) and horizontal flip' },
  cutout: { type: 'number', integer: true, min: 0, default: 0, description: 'With --augment, also cut out a square of this size' },
  normalize: { type: 'string', default: 'unit', choices: ['unit', 'standard'], description: "Input scaling: 'unit' = pixels/255 (the seed's), 'standard' = per-channel mean/std" },
  'max-train': { type: 'number', integer: true, min: 10, description: 'Train on a stratified subset of N training images' },
  'max-val': { type: 'number', integer: true, min: 10, description: 'Validate on a stratified subset of N test images' },
  'early-stop': { type: 'number', integer: true, min: 1, description: 'Stop after N epochs without validation improvement' },
  'l2-scale': { type: 'number', default: 15, description: 'L2-softmax scale α' },
  'head-options': { type: 'string', description: 'JSON options per head, e.g. {"arcface":{"margin":0.3,"scale":30}}' },
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'Seed for initialisation, shuffling and augmentation' },
  threads: { type: 'number', integer: true, min: 1, env: 'DEEPMETRIC_NUM_THREADS', description: 'libtorch intra-op threads (default: every core)' },
  device: { type: 'string', default: 'cpu', description: "'cpu' or 'cuda' (needs a CUDA libtorch)" },
  resume: { type: 'boolean', default: false, description: 'Continue from the checkpoints in --out' },
  weights: { type: 'string', description: "Pretrained backbone weights: torchvision .pth (with --backbone torchvision-resnet18 etc.), .safetensors, or Keras's mobilenet_v2 .h5 (with --backbone mobilenetv2 --alpha α); sets the input normalisation the weights expect (see docs/pretrained.md)" },
  'freeze-backbone': { type: 'boolean', default: false, description: 'Train only the projection and head: backbone frozen, its BatchNorm statistics kept' },
  'backbone-lr-mult': { type: 'number', min: 0, default: 1, description: "The backbone's learning rate as a multiple of --lr (e.g. 0.1 to fine-tune pretrained weights gently)" },
};

export interface ExperimentData {
  train: ImageDataset;
  val: ImageDataset;
  source: string;
}

export function applyRuntime(o: ParsedOptions): void {
  if (o.threads !== undefined) setNumThreads(o.threads as number);
  checkDevice(o.device);
}

export async function loadExperimentData(o: ParsedOptions): Promise<ExperimentData> {
  const source = o.data as string | undefined;
  const { train, test } = await loadCifar10({ source, cacheDir: o['cache-dir'] as string | undefined, split: 'both' });
  const seed = o.seed as number;
  return {
    train: o['max-train'] ? stratifiedSubset(train, { size: o['max-train'] as number, seed }) : train,
    val: o['max-val'] ? stratifiedSubset(test, { size: o['max-val'] as number, seed: seed + 1 }) : test,
    source: source ? resolve(source) : 'default',
  };
}

export function parseHeadOptions(o: ParsedOptions): Record<string, Record<string, unknown>> {
  const raw = o['head-options'] as string | undefined;
  let parsed: Record<string, Record<string, unknown>> = {};
  if (raw) {
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      throw new UsageError(`Expected JSON for --head-options but received '${raw}' (${(e as Error).message})`);
    }
  }
  return { ...parsed, l2softmax: { alpha: o['l2-scale'], ...parsed.l2softmax } };
}

export function checkHeadNames(names: string[]): void {
  for (const n of names) if (!HEAD_NAMES.includes(n)) throw new UsageError(`Expected heads among ${HEAD_NAMES.join(', ')} but received '${n}'`);
}

export function modelSpec(o: ParsedOptions): BackboneSpec {
  return { name: o.backbone as string, alpha: o.alpha as number, projectionDim: o['projection-dim'] as number | undefined, bnMomentum: o['bn-momentum'] as number | undefined,
    ...(o['image-size'] !== undefined ? { inputSize: o['image-size'] as number } : {}) };
}

/** With --weights, loads the pretrained weights into the model's backbone (its top, if the file has one, left out). */
export async function loadPretrainedWeights(o: ParsedOptions, model: EmbeddingNet, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const file = o.weights as string | undefined;
  if (!file) return;
  const r = await loadWeights(model, resolve(file));
  log(`weights: loaded ${r.loaded} tensors from ${file} (${r.format}${r.hashPrefix ? `, SHA-256 ${r.hashPrefix}… verified` : ''}` +
    `${r.skipped.length ? `; left out ${r.skipped.length}: the classification top and BatchNorm batch counters` : ''})`);
}

/** A fresh backbone + head, initialised from the seed so that every head starts from the same backbone. */
export function buildModel(o: ParsedOptions, headName: string, numClasses: number): { model: EmbeddingNet; head: Head } {
  manualSeed(o.seed as number);
  const model = createEmbeddingNet(modelSpec(o));
  const headOpts = parseHeadOptions(o)[headName] ?? {};
  const head = createHead(headName, { embeddingDim: model.embeddingDim, numClasses, ...headOpts });
  if (o.device !== 'cpu') {
    model.to(o.device as 'cuda');
    head.to(o.device as 'cuda');
  }
  return { model, head };
}

export function trainConfig(o: ParsedOptions): TrainConfig {
  const opt = o.optimizer as string;
  const augment = o.augment ? { ...CIFAR10_AUGMENT, ...(o.cutout ? { cutoutSize: o.cutout as number } : {}) } : null;
  return {
    epochs: o.epochs as number,
    batchSize: o['batch-size'] as number,
    optimizer: {
      name: opt === 'adam-amsgrad' ? 'adam' : (opt as 'adam' | 'adamw' | 'sgd'),
      lr: o.lr as number,
      amsgrad: opt === 'adam-amsgrad',
      weightDecay: o['weight-decay'] as number,
      momentum: opt === 'sgd' ? 0.9 : undefined,
      nesterov: opt === 'sgd',
    },
    schedule: { kind: o.schedule as 'constant' | 'cosine' | 'step', warmupEpochs: o['warmup-epochs'] as number },
    seed: o.seed as number,
    augment,
    // Pretrained weights expect the scaling they were trained with, unless --normalize chooses otherwise.
    normalization: o.weights && o.normalize === 'unit' ? weightsNormalization(resolve(o.weights as string)) : o.normalize === 'standard' ? { kind: 'standard', mean: CIFAR10_MEAN, std: CIFAR10_STD } : { kind: 'unit' },
    earlyStopping: o['early-stop'] ? { patience: o['early-stop'] as number } : null,
    device: o.device as 'cpu',
    weights: o.weights ? resolve(o.weights as string) : null,
    freezeBackbone: o['freeze-backbone'] as boolean,
    backboneLrMult: o['backbone-lr-mult'] as number,
  };
}

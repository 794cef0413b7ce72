// What the training commands share: loading the data, building backbone + head, the train config.
import { resolve } from 'node:path';
import { stratifiedSubset } from '../data/splits.js';
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import type { DatasetInput, LoadedDataset } from '../data/load-dataset.js';
import { NORMALIZATIONS, type NormalizationName } from '../data/normalization.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/sources/cifar10-constants.js';
import { CIFAR10_AUGMENT } from '../data/loading/transforms.js';
import { BACKBONES, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { HEAD_NAMES } from '../losses/registry.js';
import type { Head } from '../losses/head.js';
import { setNumThreads } from '../tensor/runtime.js';
import { checkDevice, type Device } from '../tensor/device.js';
import type { TrainConfig } from '../train/trainer.js';
import { weightsNormalization } from '../weights/load-weights.js';
import { backboneSpec, buildModel as buildModelFrom, checkBatchFits, loadPretrainedWeights as loadWeightsFile, type ModelOptions } from '../experiment/model.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';
import { DATA_OPTIONS, loadCommandData, sourceLabel } from './data-options.js';

/** Options every training command takes; defaults are the seed experiment's. */
export const TRAINING_OPTIONS: Record<string, OptionSpec> = {
  ...DATA_OPTIONS,
  backbone: { type: 'string', default: 'mobilenetv2', choices: BACKBONES, description: 'Backbone network' },
  alpha: { type: 'number', default: 0.5, description: 'MobileNetV2 width multiplier' },
  'bn-momentum': { type: 'number', default: 0.01, description: "MobileNetV2 BatchNorm momentum in PyTorch's convention (running = (1−m)·running + m·batch): 0.01 = Keras momentum 0.99; 0.001 is Keras's exact 0.999 (with --precise-bn 0 for the 1000-epoch reproduction; its moving averages need ≈ 20 CIFAR-10 epochs)" },
  'precise-bn': { type: 'number', integer: true, min: 0, default: 2048, description: "Before each validation, recompute BatchNorm statistics as the average over N training images (precise BN; changes evaluation only, never training). 0 keeps the moving averages, as Keras does" },
  'projection-dim': { type: 'number', integer: true, min: 1, description: 'Add a linear projection to this embedding size' },
  epochs: { type: 'number', integer: true, min: 0, default: 10, description: 'Training epochs; 0 = no training: the (pretrained) backbone embeds as it is, validated once and checkpointed' },
  'batch-size': { type: 'number', integer: true, min: 2, default: 128, description: 'Images per batch' },
  optimizer: { type: 'string', default: 'adam-amsgrad', choices: ['adam-amsgrad', 'adam', 'adamw', 'sgd'], description: 'Optimizer' },
  lr: { type: 'number', default: 1e-4, description: 'Learning rate (peak, with a schedule)' },
  'weight-decay': { type: 'number', default: 0, description: 'Weight decay' },
  schedule: { type: 'string', default: 'constant', choices: ['constant', 'cosine', 'step'], description: 'Learning-rate schedule' },
  'warmup-epochs': { type: 'number', min: 0, default: 0, description: 'Linear warm-up epochs' },
  augment: { type: 'boolean', default: false, description: 'Random crop (pad 4) and horizontal flip' },
  cutout: { type: 'number', integer: true, min: 0, default: 0, description: 'With --augment, also cut out a square of this size' },
  normalize: { type: 'string', default: 'unit', choices: NORMALIZATIONS, description: "Input scaling, stored with the model: 'unit' (= 'none') pixels/255, the seed's; 'standard' per-channel mean/std of the training split (CIFAR-10's published values for CIFAR-10); 'cifar10' or 'imagenet' fixed mean/std" },
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
  train: AnyImageDataset;
  val: AnyImageDataset;
  source: string;
  /** Everything loadDataset returned (class names per split, normalization, input shape). */
  dataset: LoadedDataset;
}

export function applyRuntime(o: ParsedOptions): void {
  if (o.threads !== undefined) setNumThreads(o.threads as number);
  checkDevice(o.device);
}

export async function loadExperimentData(o: ParsedOptions): Promise<ExperimentData> {
  const dataset = await loadCommandData(o, undefined, o.normalize as NormalizationName);
  const { train, test } = dataset;
  const seed = o.seed as number;
  checkTrainingClasses(train, test, o.data ? resolve(o.data as string) : 'the default data');
  return {
    train: o['max-train'] ? stratifiedSubset(train, { size: checkSubsetSize(o, 'max-train', train, 'training'), seed }) : train,
    val: o['max-val'] ? stratifiedSubset(test, { size: checkSubsetSize(o, 'max-val', test, 'test'), seed: seed + 1 }) : test,
    source: sourceLabel(o),
    dataset,
  };
}

/** --max-train/--max-val must not ask for more images than the split has. */
export function checkSubsetSize(o: ParsedOptions, flag: string, data: Pick<AnyImageDataset, 'labels'>, split: string): number {
  const size = o[flag] as number;
  if (size > data.labels.length) throw new UsageError(`Expected --${flag} at most the ${data.labels.length} ${split} images of the data but received ${size}`);
  return size;
}

/**
 * A classifier needs two classes or more, and validation classes it was trained on: a test class
 * without training images could never be predicted (train/ and test/ folders with different classes).
 */
export function checkTrainingClasses(train: Pick<AnyImageDataset, 'labels' | 'classes'>, test: Pick<AnyImageDataset, 'labels' | 'classes'>, source: string): void {
  const counts = (d: Pick<AnyImageDataset, 'labels' | 'classes'>): number[] => {
    const c = new Array<number>(d.classes.length).fill(0);
    for (const l of d.labels) c[l]++;
    return c;
  };
  const inTrain = counts(train);
  const inTest = counts(test);
  const trained = train.classes.filter((_, i) => inTrain[i] > 0);
  if (trained.length < 2) {
    throw new UsageError(`Expected --data with at least 2 classes of training images but ${source} has ${trained.length}` +
      `${trained.length ? ` ('${trained.join("', '")}')` : ''}; a classifier needs two or more classes`);
  }
  const untrained = test.classes.filter((_, i) => inTest[i] > 0 && inTrain[i] === 0);
  if (untrained.length > 0) {
    throw new UsageError(`Expected the test classes of --data to be training classes too, but ${source} has test images of ` +
      `'${untrained.join("', '")}' and no training images of ${untrained.length === 1 ? 'it' : 'them'}; give train/ and test/ the same class folders`);
  }
  const unvalidated = train.classes.filter((_, i) => inTrain[i] > 0 && inTest[i] === 0);
  if (unvalidated.length > 0) {
    process.emitWarning(`${source}: no test images of '${unvalidated.join("', '")}'; validation accuracy covers the other classes only`, { code: 'DEEPMETRIC_CLASSES' });
  }
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
    const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!isObject(parsed)) throw new UsageError(`Expected a JSON object of options per head for --head-options, e.g. {"arcface":{"margin":0.3}}, but received '${raw}'`);
    for (const [head, opts] of Object.entries(parsed)) {
      if (!isObject(opts)) throw new UsageError(`Expected an object of options for '${head}' in --head-options but received ${JSON.stringify(opts)}`);
    }
  }
  return { ...parsed, l2softmax: { alpha: o['l2-scale'], ...parsed.l2softmax } };
}

export function checkHeadNames(names: string[]): void {
  for (const n of names) if (!HEAD_NAMES.includes(n)) throw new UsageError(`Expected heads among ${HEAD_NAMES.join(', ')} but received '${n}'`);
  // Each head writes checkpoints/<head>/: the same head twice would overwrite its own run.
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`Expected each head once in --heads but received '${twice}' twice`);
}

/** The model flags as the library's typed options (head options parsed only when a head is built). */
export function modelOptions(o: ParsedOptions): ModelOptions {
  return {
    backbone: o.backbone as string, alpha: o.alpha as number, projectionDim: o['projection-dim'] as number | undefined, bnMomentum: o['bn-momentum'] as number | undefined,
    seed: o.seed as number, device: o.device as Device,
  };
}

/** With the data's input, the model takes its channels (and MobileNetV2 its size, for Keras's padding rule). */
export function modelSpec(o: ParsedOptions, input?: Pick<DatasetInput, 'height' | 'channels'>): BackboneSpec {
  return backboneSpec(modelOptions(o), input);
}

/** With --weights, loads the pretrained weights into the model's backbone (its top, if the file has one, left out). */
export async function loadPretrainedWeights(o: ParsedOptions, model: EmbeddingNet, log?: (line: string) => void): Promise<void> {
  await loadWeightsFile(o.weights as string | undefined, model, log);
}

/** A fresh backbone + head, initialised from the seed so that every head starts from the same backbone. */
export function buildModel(o: ParsedOptions, headName: string, numClasses: number, input?: Pick<DatasetInput, 'height' | 'channels'>): { model: EmbeddingNet; head: Head } {
  return buildModelFrom({ ...modelOptions(o), headOptions: parseHeadOptions(o) }, headName, numClasses, input);
}

/** The trainer drops the last partial batch: a batch larger than the training set would leave none. */
export { checkBatchFits };

export function trainConfig(o: ParsedOptions, data?: LoadedDataset): TrainConfig {
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
    normalization: o.weights && o.normalize === 'unit' ? weightsNormalization(resolve(o.weights as string))
      : data ? data.normalization : o.normalize === 'standard' ? { kind: 'standard', mean: CIFAR10_MEAN, std: CIFAR10_STD } : { kind: 'unit' },
    ...(data ? { input: data.input } : {}),
    preciseBn: o['precise-bn'] as number | undefined,
    earlyStopping: o['early-stop'] ? { patience: o['early-stop'] as number } : null,
    device: o.device as 'cpu',
    weights: o.weights ? resolve(o.weights as string) : null,
    freezeBackbone: o['freeze-backbone'] as boolean,
    backboneLrMult: o['backbone-lr-mult'] as number,
  };
}

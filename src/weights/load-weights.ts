// loadWeights(model, file): published pretrained weights into a model — PyTorch checkpoints
// (torch.save, zip or legacy), safetensors (timm / Hugging Face) and Keras .h5 files — with strict
// name and shape checks that report every missing, unexpected and mismatched key.
import { basename, extname } from 'node:path';
import { Module, type StateDict } from '../nn/module.js';
import { EmbeddingNet } from '../models/embedding-net.js';
import { MobileNetV2 } from '../models/mobilenet-v2.js';
import type { Tensor } from '../tensor/tensor.js';
import { dispose, tidy } from '../tensor/memory.js';
import { bundleMismatch, loadSafetensors } from '../serialize/safetensors.js';
import { readInputPrefixSync } from '../util/input-file.js';
import type { InputNormalization } from '../data/normalization.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';
import { KERAS_TOP_LAYERS, kerasMobileNetV2Mapping, readKerasH5, type KerasTransform } from './keras-h5.js';
import { toTensor, type RawTensor } from './raw-tensor.js';
import { verifyDeclaredHash } from './file-hash.js';
import { IMAGENET_NORMALIZATION, KERAS_TF_NORMALIZATION } from './normalization.js';

export type WeightsFormat = 'torch' | 'safetensors' | 'keras-h5';
const FORMATS: readonly WeightsFormat[] = ['torch', 'safetensors', 'keras-h5'];

export interface LoadWeightsOptions {
  /** Default: from the file's first bytes (zip / pickle, HDF5) and extension (.safetensors). */
  format?: WeightsFormat;
  /** Every key of the model must be in the file and every key of the file in the model (default true). */
  strict?: boolean;
  /**
   * Leave out the file's classification top (torchvision's fc / classifier, Keras's predictions)
   * when the model has none — a backbone loading an ImageNet classifier's file. Default true.
   */
  skipTop?: boolean;
  /** Check the SHA-256 prefix in torchvision-style names (resnet18-f37072fd.pth). Default true. */
  verifyHash?: boolean;
}

export interface LoadedWeights {
  file: string;
  format: WeightsFormat;
  /** Keys copied into the model. */
  loaded: number;
  /** File keys left out on purpose: the top the model lacks, BatchNorm batch counters. */
  skipped: string[];
  /** The input scaling the weights were trained with (ImageNet mean/std; Keras's [-1, 1]). */
  normalization: InputNormalization;
  /** The SHA-256 prefix verified from the name, if it had one. */
  hashPrefix: string | null;
}

const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function detectFormat(path: string): WeightsFormat {
  const head = readInputPrefixSync(path, 8, { what: 'weights file' });
  if (head.equals(HDF5_MAGIC)) return 'keras-h5';
  const bundle = bundleMismatch(head, path, 'weights file');
  if (bundle) throw new Error(`weights: ${bundle}`);
  if (extname(path).toLowerCase() === '.safetensors') return 'safetensors';
  if ((head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) || head[0] === 0x80) return 'torch';
  throw new Error(`weights: ${path} is not a recognised weights file: expected a PyTorch checkpoint (.pth/.pt: zip or pickle), .safetensors or a Keras .h5 (it starts with bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

/** The input scaling the weights in a file were trained with: Keras's [-1, 1] for .h5 files, else ImageNet mean/std. */
export function weightsNormalization(path: string): InputNormalization {
  return readInputPrefixSync(path, 8, { what: 'weights file' }).equals(HDF5_MAGIC) ? KERAS_TF_NORMALIZATION : IMAGENET_NORMALIZATION;
}

/** The module that holds the weights: an EmbeddingNet's backbone, else the module itself. */
function targetOf(model: Module): Module {
  return model instanceof EmbeddingNet ? model.backbone : model;
}

function transform(t: Tensor, how: KerasTransform): Tensor {
  switch (how) {
    case 'conv': return t.permute(3, 2, 0, 1).contiguous();
    case 'depthwise': return t.permute(2, 3, 0, 1).contiguous();
    case 'dense': return t.permute(1, 0).contiguous();
    default: return t;
  }
}

/** The Keras file's tensors under our MobileNetV2's keys; layers the mapping does not use are reported as unexpected. */
async function kerasStateDict(target: Module, path: string, skipped: string[], strict: boolean): Promise<StateDict> {
  if (!(target instanceof MobileNetV2) || target.config.variant !== 'keras') {
    throw new Error(`weights: ${path} is a Keras .h5 file, which loads into the Keras-faithful MobileNetV2 (backbone 'mobilenetv2'), not ${target.constructor.name}${target instanceof MobileNetV2 ? ` variant '${target.config.variant}'` : ''}`);
  }
  const named = /_tf_kernels_([\d.]+)_(\d+)/.exec(basename(path));
  if (named && Number(named[1]) !== target.config.alpha) {
    throw new Error(`weights: ${path} is for MobileNetV2 α=${named[1]} (by its name) but the model has α=${target.config.alpha}; build it with alpha ${named[1]} (--alpha ${named[1]})`);
  }
  const layers = await readKerasH5(path);
  const top = KERAS_TOP_LAYERS.find((l) => layers.has(l)) ?? KERAS_TOP_LAYERS[0];
  const mapping = kerasMobileNetV2Mapping(target, top);
  const used = new Set(mapping.map((m) => m.layer));
  const missing: string[] = [];
  const unexpected: string[] = [];
  const state: StateDict = {};
  try {
    for (const m of mapping) {
      const raw: RawTensor | undefined = layers.get(m.layer)?.get(m.weight);
      if (!raw) {
        missing.push(`${m.layer}/${m.weight} (for ${m.key})`);
        continue;
      }
      state[m.key] = tidy(() => transform(tensorOf(raw, path, `${m.layer}/${m.weight}`), m.transform));
    }
    for (const [layer, weights] of layers) {
      if (used.has(layer)) continue;
      if (!target.classifier && KERAS_TOP_LAYERS.includes(layer)) {
        skipped.push(...[...weights.keys()].map((w) => `${layer}/${w}`));
        continue;
      }
      unexpected.push(...[...weights.keys()].map((w) => `${layer}/${w}`));
    }
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      throw new Error(`weights: ${path} does not fit the Keras MobileNetV2 (α=${target.config.alpha}): ` +
        [missing.length ? `missing layers/weights: ${missing.join(', ')}` : '', unexpected.length ? `unexpected layers/weights: ${unexpected.join(', ')}` : ''].filter(Boolean).join('; '));
    }
    return state;
  } catch (e) {
    dispose(state);
    throw e;
  }
}

/** toTensor, naming the file and the tensor when libtorch cannot hold it. */
function tensorOf(raw: RawTensor, file: string, name: string): Tensor {
  try {
    return toTensor(raw);
  } catch (e) {
    throw new Error(`weights: ${file}: cannot create tensor '${name}' [${raw.shape}] (${raw.bytes.length} bytes): ${(e as Error).message}`);
  }
}

/** A tensor name that a plain object already has ('__proto__', 'constructor'…) cannot be a parameter's, and would confuse the name checks. */
function checkName(file: string, key: string): void {
  if (key in Object.prototype) throw new Error(`weights: ${file} holds a tensor named '${key}', which no model parameter can be called (damaged or hostile file?)`);
}

async function fileStateDict(format: WeightsFormat, path: string): Promise<StateDict> {
  if (format === 'safetensors') {
    const { tensors } = loadSafetensors(path, { what: 'weights file' });
    try {
      for (const key of Object.keys(tensors)) checkName(path, key);
    } catch (e) {
      dispose(tensors);
      throw e;
    }
    return tensors;
  }
  const raw = await readTorchCheckpoint(path);
  const state: StateDict = {};
  try {
    for (const [k, r] of raw) {
      checkName(path, k);
      state[k] = tensorOf(r, path, k);
    }
  } catch (e) {
    dispose(state);
    throw e;
  }
  return state;
}

/**
 * Loads a pretrained weights file into model (an EmbeddingNet loads into its backbone). Names and
 * shapes are checked strictly; a mismatch is an error naming the file and every offending key.
 * @example
 * ```ts
 * const net = models.createEmbeddingNet({ name: 'torchvision-resnet18' });
 * const { normalization } = await loadWeights(net, 'resnet18-f37072fd.pth');
 * ```
 */
export async function loadWeights(model: Module, file: string, opts: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  if (!(model instanceof Module)) throw new TypeError(`Expected a Module for loadWeights but received ${typeof model}`);
  if (typeof file !== 'string' || file === '') throw new TypeError(`Expected a weights file path but received ${JSON.stringify(file)}`);
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) {
    throw new TypeError(`Expected format ${FORMATS.map((f) => `'${f}'`).join(', ')} (or none, to detect it) for loadWeights but received ${JSON.stringify(opts.format)}`);
  }
  const format = opts.format ?? detectFormat(file);
  const hashPrefix = opts.verifyHash ?? true ? await verifyDeclaredHash(file) : null;
  const target = targetOf(model);
  const skipped: string[] = [];
  const state = format === 'keras-h5' ? await kerasStateDict(target, file, skipped, opts.strict ?? true) : await fileStateDict(format, file);
  try {
    const own = new Set(Object.keys(target.stateDict()));
    const topPrefix = (target as Module & { topPrefix?: string }).topPrefix;
    const hasTop = topPrefix !== undefined && [...own].some((k) => k.startsWith(topPrefix));
    for (const key of Object.keys(state)) {
      if (own.has(key)) continue;
      // torch's BatchNorm counts batches for momentum=None, which this library does not use.
      const counter = key.endsWith('.num_batches_tracked');
      const top = (opts.skipTop ?? true) && topPrefix !== undefined && !hasTop && key.startsWith(topPrefix);
      if (counter || top) {
        skipped.push(key);
        state[key].dispose();
        delete state[key];
      }
    }
    try {
      target.loadStateDict(state, { strict: opts.strict ?? true });
    } catch (e) {
      throw new Error(`weights: ${file} (${format}) does not fit ${target.constructor.name}: ${(e as Error).message.replace(/^loadStateDict: the state does not fit \w+: /, '')}`);
    }
    return {
      file, format, loaded: Object.keys(state).length, skipped, hashPrefix,
      normalization: format === 'keras-h5' ? KERAS_TF_NORMALIZATION : IMAGENET_NORMALIZATION,
    };
  } finally {
    dispose(state);
  }
}

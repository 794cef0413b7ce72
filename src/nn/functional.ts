// Stateless neural-network functions over tensors: convolution, normalisation, pooling, losses.
import { native, type NativeHandle } from '../binding/native.js';
import { Tensor, type Reduction } from '../tensor/tensor.js';
import { checkInt, checkNumber, describe, pair } from '../tensor/checks.js';

const opt = (t: Tensor | undefined | null): NativeHandle | undefined => t?.handle ?? undefined;
const wrap = (h: NativeHandle): Tensor => new Tensor(h);

function checkRank(t: Tensor, rank: number, op: string, what = 'input'): void {
  if (t.ndim !== rank) throw new TypeError(`${op}: Expected a ${rank}-d ${what} but received shape [${t.shape.join(',')}]`);
}

function checkReduction(r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new TypeError(`Expected 'mean', 'sum' or 'none' for reduction but received ${describe(r)}`);
  return r;
}

export interface Conv2dOptions {
  stride?: number | number[];
  /** Zero padding per side, or 'same' (output size = input size, stride 1) or 'valid' (none). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  /** Channel groups; groups = in channels makes a depthwise convolution. */
  groups?: number;
}

/**
 * A non-negative integer or a pair of them, as one number when both sides agree: native code
 * reads a number without the element look-ups that cost as much as a small op's other overhead.
 */
function intOrPair(value: number | number[], what: string): number | number[] {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const p = pair(value, what);
  return p[0] === p[1] ? p[0] : p;
}

/** 2-d convolution of x [N,C,H,W] with weight [O, C/groups, kH, kW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  const xs = x.shapeRef;
  const w = weight.shapeRef;
  if (xs.length !== 4) checkRank(x, 4, 'conv2d');
  if (w.length !== 4) checkRank(weight, 4, 'conv2d', 'weight');
  const groups = o.groups === undefined ? 1 : checkInt(o.groups, 'groups of conv2d', 1);
  if (xs[1] !== w[1] * groups) {
    throw new TypeError(`conv2d: Expected input with ${w[1] * groups} channels (weight [${w.join(',')}], groups ${groups}) but received shape [${xs.join(',')}]`);
  }
  const padding = o.padding ?? 0;
  const stride = intOrPair(o.stride ?? 1, 'stride of conv2d');
  if (padding === 'same' && stride !== 1 && (typeof stride === 'number' || stride.some((s) => s !== 1))) {
    throw new TypeError(`conv2d: Expected stride 1 with padding 'same' but received ${describe(o.stride)}`);
  }
  const pad = typeof padding === 'string' ? padding : intOrPair(padding, 'padding of conv2d');
  return wrap(native.conv2d(x.handle, weight.handle, opt(bias), stride, pad, intOrPair(o.dilation ?? 1, 'dilation of conv2d'), groups));
}

export interface ConvTranspose2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

/** Transposed 2-d convolution; weight is [C_in, C_out/groups, kH, kW]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvTranspose2dOptions = {}): Tensor {
  checkRank(x, 4, 'convTranspose2d');
  checkRank(weight, 4, 'convTranspose2d', 'weight');
  return wrap(native.convTranspose2d(x.handle, weight.handle, opt(bias), pair(o.stride ?? 1, 'stride'), pair(o.padding ?? 0, 'padding'),
    pair(o.outputPadding ?? 0, 'outputPadding'), checkInt(o.groups ?? 1, 'groups', 1), pair(o.dilation ?? 1, 'dilation')));
}

/** x·Wᵀ + b with W [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inF = weight.shapeRef[1];
  if (x.shapeRef.at(-1) !== inF) throw new TypeError(`linear: Expected input with last dim ${inF} (weight [${weight.shape.join(',')}]) but received shape [${x.shape.join(',')}]`);
  return wrap(native.linear(x.handle, weight.handle, opt(bias)));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Batch statistics (and running-stat updates) when true; running statistics when false. */
  training: boolean;
  /** PyTorch convention: running = (1 − momentum)·running + momentum·batch. */
  momentum?: number;
  eps?: number;
}

export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  if (!o.training && (!o.runningMean || !o.runningVar)) throw new TypeError('batchNorm: Expected runningMean and runningVar in eval mode but received none');
  return wrap(native.batchNorm(x.handle, opt(o.weight), opt(o.bias), opt(o.runningMean), opt(o.runningVar), o.training,
    checkNumber(o.momentum ?? 0.1, 'momentum'), checkNumber(o.eps ?? 1e-5, 'eps')));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(native.layerNorm(x.handle, normalizedShape, opt(weight), opt(bias), eps));
}

export interface Pool2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernel: number | number[], o: Pool2dOptions & { dilation?: number | number[] } = {}): Tensor {
  const k = pair(kernel, 'kernel of maxPool2d');
  return wrap(native.maxPool2d(x.handle, k, pair(o.stride ?? k, 'stride'), pair(o.padding ?? 0, 'padding'), pair(o.dilation ?? 1, 'dilation'), o.ceilMode ?? false));
}

export function avgPool2d(x: Tensor, kernel: number | number[], o: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  const k = pair(kernel, 'kernel of avgPool2d');
  return wrap(native.avgPool2d(x.handle, k, pair(o.stride ?? k, 'stride'), pair(o.padding ?? 0, 'padding'), o.ceilMode ?? false, o.countIncludePad ?? true));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: number | number[]): Tensor {
  return wrap(native.adaptiveAvgPool2d(x.handle, pair(outputSize, 'outputSize of adaptiveAvgPool2d')));
}

/** Mean over the spatial dims: [N,C,H,W] → [N,C]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  checkRank(x, 4, 'globalAvgPool2d');
  return x.mean([2, 3]);
}

export function upsample(x: Tensor, size: number | number[], mode: 'nearest' | 'bilinear' = 'nearest', alignCorners = false): Tensor {
  checkRank(x, 4, 'upsample');
  return wrap(native.upsample(x.handle, pair(size, 'size of upsample'), mode, alignCorners));
}

export const relu = (x: Tensor): Tensor => x.relu();
export const relu6 = (x: Tensor): Tensor => x.relu6();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();
export const silu = (x: Tensor): Tensor => wrap(native.silu(x.handle));
export const hardswish = (x: Tensor): Tensor => wrap(native.hardswish(x.handle));
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => wrap(native.gelu(x.handle, approximate));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => wrap(native.leakyRelu(x.handle, negativeSlope));
export const softmax = (x: Tensor, dim = -1): Tensor => x.softmax(dim);
export const logSoftmax = (x: Tensor, dim = -1): Tensor => x.logSoftmax(dim);

/** Zeroes elements with probability p and scales the rest by 1/(1−p), only when training. */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TypeError(`Expected a probability between 0 and 1 for p of dropout but received ${describe(p)}`);
  return wrap(native.dropout(x.handle, p, training));
}

export interface CrossEntropyOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross-entropy of logits [N,C] against class indices [N] (int64), as torch's. */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  if (target.dtype !== 'int64' && target.dtype !== logits.dtype) {
    throw new TypeError(`crossEntropy: Expected int64 class indices or ${logits.dtype} probabilities for target but received ${target.dtype}`);
  }
  if (target.dtype === 'int64' && target.shape[0] !== logits.shape[0]) {
    throw new TypeError(`crossEntropy: Expected ${logits.shape[0]} targets for logits [${logits.shape.join(',')}] but received shape [${target.shape.join(',')}]`);
  }
  const smoothing = o.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new TypeError(`Expected labelSmoothing between 0 and 1 but received ${describe(smoothing)}`);
  return wrap(native.crossEntropy(logits.handle, target.handle, opt(o.weight), checkReduction(o.reduction ?? 'mean'), o.ignoreIndex ?? -100, smoothing));
}

export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return wrap(native.nllLoss(logProbs.handle, target.handle, opt(o.weight), checkReduction(o.reduction ?? 'mean'), o.ignoreIndex ?? -100));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(native.mseLoss(input.handle, target.handle, checkReduction(reduction)));
}

/** Binary cross-entropy of probabilities in [0,1]. */
export function binaryCrossEntropy(probs: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return wrap(native.binaryCrossEntropy(probs.handle, target.handle, opt(o.weight), checkReduction(o.reduction ?? 'mean')));
}

export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return wrap(native.binaryCrossEntropyWithLogits(logits.handle, target.handle, opt(o.weight), opt(o.posWeight), checkReduction(o.reduction ?? 'mean')));
}

/** x / max(‖x‖_p, eps) along dim — per sample for dim = 1 of [N,D] (never over the batch). */
export function normalize(x: Tensor, o: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  const dim = o.dim ?? 1;
  if (x.ndim === 0) throw new TypeError('normalize: Expected a tensor of rank ≥ 1 but received a scalar');
  return wrap(native.normalize(x.handle, o.p ?? 2, dim, o.eps ?? 1e-12));
}

/** Pairwise p-norm distances between rows of a [N,D] and b [M,D] → [N,M]. */
export function cdist(a: Tensor, b: Tensor, p = 2): Tensor {
  if (a.shape.at(-1) !== b.shape.at(-1)) throw new TypeError(`cdist: Expected the same feature size but received shapes [${a.shape.join(',')}] and [${b.shape.join(',')}]`);
  return wrap(native.cdist(a.handle, b.handle, p));
}

/** Cosine similarity of a and b along dim (broadcasting). */
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return wrap(native.cosineSimilarity(a.handle, b.handle, dim, eps));
}

/** Pairwise cosine similarity between rows of a [N,D] and b [M,D] → [N,M]. */
export function pairwiseCosine(a: Tensor, b: Tensor): Tensor {
  const an = normalize(a);
  const bn = normalize(b);
  const bt = bn.T;
  const out = an.matmul(bt);
  an.dispose(); bn.dispose(); bt.dispose();
  return out;
}

/** int64 class indices [N] → [N, numClasses] int64 one-hot rows. */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  return wrap(native.oneHot(indices.handle, checkInt(numClasses, 'numClasses', 1)));
}

/** Constant padding; pads lists (left, right, top, bottom, …) from the last dim backwards, as torch's F.pad. */
export function pad(x: Tensor, pads: number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) throw new TypeError(`pad: Expected an even number of pads, at most ${2 * x.ndim}, but received [${pads.join(',')}]`);
  return wrap(native.pad(x.handle, pads, value));
}

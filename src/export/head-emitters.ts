// Head emitters: a classifying head's inference logits (Head.logits: no margin) as ONNX nodes.
// Heads without class logits (pair losses) cannot be exported with --output logits.
import { Head } from '../losses/head.js';
import { SoftmaxHead } from '../losses/softmax-head.js';
import { L2SoftmaxHead } from '../losses/l2-softmax-head.js';
import { MarginSoftmaxHead } from '../losses/margin-softmax-head.js';
import { SubCenterArcFaceHead } from '../losses/subcenter-arcface-head.js';
import { SphereFaceHead } from '../losses/sphereface-head.js';
import { AdaCosHead } from '../losses/adacos-head.js';
import { MultipleLosses } from '../losses/multiple-losses.js';
import { normalize } from '../nn/functional.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { OnnxGraph } from './onnx-graph.js';
import { join } from './module-emitters.js';

/** Emits head.logits(embeddings) and returns the logits value's name. */
export type HeadEmitter<H extends Head = Head> = (head: H, embeddings: string, path: string, g: OnnxGraph) => string;

type HeadClass<H extends Head> = abstract new (...args: never[]) => H;

const EMITTERS = new Map<unknown, HeadEmitter>();

export function registerOnnxHeadEmitter<H extends Head>(cls: HeadClass<H>, emit: HeadEmitter<H>): void {
  EMITTERS.set(cls, emit as HeadEmitter);
}

/** F.normalize(x, dim 1): x / max(‖x‖₂, 1e-12) per row. */
export function emitL2Normalize(x: string, path: string, g: OnnxGraph): string {
  const norm = g.node('ReduceL2', [x], { axes: [1], keepdims: 1 }, join(path, 'norm'));
  return g.node('Div', [x, g.node('Max', [norm, g.constant([1e-12], 'float32')], {}, join(path, 'norm_clamped'))], {}, join(path, 'normalized'));
}

function emitGemm(g: OnnxGraph, x: string, fc: SoftmaxHead['fc'], path: string): string {
  const inputs = [x, g.weight(join(path, 'weight'), fc.weight)];
  if (fc.bias) inputs.push(g.weight(join(path, 'bias'), fc.bias));
  return g.node('Gemm', inputs, { transB: 1 }, join(path, 'gemm'));
}

registerOnnxHeadEmitter(SoftmaxHead, (h, e, path, g) => emitGemm(g, e, h.fc, join(path, 'fc')));

registerOnnxHeadEmitter(L2SoftmaxHead, (h, e, path, g) => {
  const scaled = g.node('Mul', [emitL2Normalize(e, path, g), g.constant([h.alpha], 'float32')], {}, join(path, 'scaled'));
  return emitGemm(g, scaled, h.fc, join(path, 'fc'));
});

/** The margin-softmax family: s·cos θ between the normalised embedding and normalised class weights. */
registerOnnxHeadEmitter(MarginSoftmaxHead, (h, e, path, g) => {
  // The class weights are constant at inference: store them normalised and transposed, [D, rows].
  const wT = noGrad(() => tidy(() => normalize(h.weight, { dim: 1 }).T.contiguous()));
  let cos: string;
  try {
    cos = g.node('MatMul', [emitL2Normalize(e, path, g), g.weight(join(path, 'weight_normalized_t'), wT)], {}, join(path, 'cos'));
  } finally {
    wT.dispose();
  }
  cos = g.node('Clip', [cos, g.constant([-1], 'float32'), g.constant([1], 'float32')], {}, join(path, 'cos_clamped'));
  if (h instanceof SubCenterArcFaceHead) {
    // A class's cosine is the largest over its K sub-centres (rows c·K … c·K+K−1).
    const grouped = g.node('Reshape', [cos, g.constant([0, h.numClasses, h.subCenters], 'int64')], {}, join(path, 'subcenters'));
    cos = g.node('ReduceMax', [grouped], { axes: [2], keepdims: 0 }, join(path, 'cos_max'));
  }
  let scale: string;
  if (h instanceof SphereFaceHead) scale = g.node('ReduceL2', [e], { axes: [1], keepdims: 1 }, join(path, 'feature_norm'));
  else if (h instanceof AdaCosHead) scale = g.constant([h.currentScale], 'float32');
  else scale = g.constant([h.scale], 'float32');
  return g.node('Mul', [cos, scale], {}, join(path, 'logits'));
});

/** A weighted sum of losses (e.g. softmax+center) predicts with the logits of its head. */
registerOnnxHeadEmitter(MultipleLosses, (h, e, path, g) => emitHeadLogits(h.head!, e, path, g));

/** Emits the head's logits, or explains why it has none. */
export function emitHeadLogits(head: Head, embeddings: string, path: string, g: OnnxGraph): string {
  if (!head.classifies) {
    throw new Error(`onnx export: head '${head.name}' has no class logits (it trains on pairs of embeddings); export output 'embedding' instead`);
  }
  for (let c = head.constructor; c && c !== Head; c = Object.getPrototypeOf(c)) {
    const emit = EMITTERS.get(c);
    if (emit) return emit(head, embeddings, path, g);
  }
  throw new Error(`onnx export: no ONNX emitter for head '${head.name}' (${head.constructor.name}); register one with registerOnnxHeadEmitter`);
}

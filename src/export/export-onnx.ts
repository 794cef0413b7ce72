// exportOnnx: a model (and optionally its head) as an ONNX graph that takes images as a user has
// them and does the scaling inside. Eval-mode semantics (BatchNorm running statistics, folded
// into the convolutions; no dropout), opset 17, a dynamic batch axis, float32 weights.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Module } from '../nn/module.js';
import type { Head } from '../losses/head.js';
import { zeros } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { checkInt } from '../tensor/checks.js';
import type { Device } from '../tensor/device.js';
import { inEvalMode, type InputNormalization } from '../inference/index.js';
import { EmbeddingNet } from '../models/embedding-net.js';
import { MobileNetV2 } from '../models/mobilenet-v2.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { OnnxGraph, type OnnxDim } from './onnx-graph.js';
import { emitContext } from './module-emitters.js';
import { emitHeadLogits, emitL2Normalize } from './head-emitters.js';
import { emitImageInput, ONNX_BATCH_DIM, ONNX_INPUT_NAME } from './input-preprocessing.js';
import { encodeOnnxModel, ONNX_IR_VERSION, ONNX_OPSET, OnnxDataType } from './onnx-proto.js';

export type OnnxOutputKind = 'embedding' | 'logits' | 'both';
export const ONNX_OUTPUT_KINDS: readonly OnnxOutputKind[] = ['embedding', 'logits', 'both'];
export const ONNX_EMBEDDING_NAME = 'embedding';
export const ONNX_LOGITS_NAME = 'logits';

export interface OnnxExportOptions {
  /** Input image height and width (fixed in the graph); default: a MobileNetV2's inputSize, else required. */
  height?: number;
  width?: number;
  /** Image channels (default 3). */
  channels?: number;
  /** Element type of the 'images' input, NHWC with values 0–255 either way (default 'uint8'). */
  inputDtype?: 'uint8' | 'float32';
  /** The scaling the model was trained with (TrainConfig.normalization; default 'unit', pixels / 255). */
  normalization?: InputNormalization;
  /** The head whose logits to output (needed for output 'logits' or 'both'). */
  head?: Head;
  /** Which outputs the graph has (default 'embedding'). */
  output?: OnnxOutputKind;
  /** L2-normalise the 'embedding' output per sample (the logits still see the raw embedding). */
  normalizeEmbedding?: boolean;
  /** Extra key/value strings stored in the model's metadata_props (class names, provenance…). */
  metadata?: Record<string, string>;
  /** The graph's name (default the model's class name). */
  graphName?: string;
}

export interface OnnxTensorSignature {
  name: string;
  dtype: 'uint8' | 'float32';
  /** Sizes; the batch axis is the string 'batch'. */
  shape: OnnxDim[];
}

export interface OnnxModelSignature {
  opset: number;
  irVersion: number;
  inputs: OnnxTensorSignature[];
  outputs: OnnxTensorSignature[];
  nodes: number;
  metadata: Record<string, string>;
}

export interface BuiltOnnxModel extends OnnxModelSignature {
  /** The serialised onnx.ModelProto. */
  bytes: Uint8Array;
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** A MobileNetV2's inputSize, the only backbone whose graph depends on it (Keras's padding rule). */
function defaultInputSize(model: Module): number | undefined {
  const backbone = model instanceof EmbeddingNet ? model.backbone : model;
  return backbone instanceof MobileNetV2 ? backbone.config.inputSize : undefined;
}

/** Runs the model once on a zero image to learn its output shape (and reject a misfit input size). */
function probeOutputShape(model: Module, channels: number, height: number, width: number): number[] {
  try {
    const device = (model.parameters()[0]?.device ?? 'cpu') as Device;
    return inEvalMode([model], () => noGrad(() => tidy(() => model.forward(zeros([1, channels, height, width], { device })).shape)));
  } catch (e) {
    throw new Error(`onnx export: ${model.constructor.name} cannot take ${channels}×${height}×${width} images: ${(e as Error).message}`);
  }
}

/** Builds the ONNX model in memory: the bytes and the graph's input/output signature. */
export function buildOnnxModel(model: Module, options: OnnxExportOptions = {}): BuiltOnnxModel {
  const output = options.output ?? 'embedding';
  if (!ONNX_OUTPUT_KINDS.includes(output)) throw new TypeError(`onnx export: Expected output among ${ONNX_OUTPUT_KINDS.join(', ')} but received ${JSON.stringify(output)}`);
  const inputDtype = options.inputDtype ?? 'uint8';
  if (inputDtype !== 'uint8' && inputDtype !== 'float32') throw new TypeError(`onnx export: Expected inputDtype 'uint8' or 'float32' but received ${JSON.stringify(inputDtype)}`);
  const size = defaultInputSize(model);
  if ((options.height ?? size) === undefined || (options.width ?? size) === undefined) {
    throw new TypeError(`onnx export: Expected height and width for ${model.constructor.name} (its input size is not part of the model) but received none`);
  }
  const height = checkInt(options.height ?? size, 'height', 1);
  const width = checkInt(options.width ?? size, 'width', 1);
  const channels = checkInt(options.channels ?? 3, 'channels', 1);
  const wantLogits = output !== 'embedding';
  if (wantLogits && !options.head) throw new TypeError(`onnx export: Expected a head for output '${output}' but received none`);
  const head = wantLogits ? options.head! : undefined;

  const shape = probeOutputShape(model, channels, height, width);
  if (head && (shape.length !== 2 || shape[1] !== head.embeddingDim)) {
    throw new Error(`onnx export: head '${head.name}' expects embeddings of size ${head.embeddingDim} but ${model.constructor.name} outputs [${shape.join(',')}]`);
  }
  if (options.normalizeEmbedding && shape.length !== 2) {
    throw new Error(`onnx export: normalizeEmbedding needs [N,D] embeddings but ${model.constructor.name} outputs [${shape.join(',')}]`);
  }
  const normalization = options.normalization ?? { kind: 'unit' };

  const g = new OnnxGraph();
  const x = emitImageInput(g, { height, width, channels, dtype: inputDtype, normalization });
  const embedding = emitContext(g).emit(model, x, '');
  const batchShape = (s: number[]): OnnxDim[] => [ONNX_BATCH_DIM, ...s.slice(1)];
  if (output !== 'logits') {
    const value = options.normalizeEmbedding ? emitL2Normalize(embedding, 'embedding', g) : embedding;
    g.addOutput(value, { name: ONNX_EMBEDDING_NAME, elemType: OnnxDataType.FLOAT, shape: batchShape(shape) });
  }
  if (head) {
    g.addOutput(emitHeadLogits(head, embedding, 'head', g), { name: ONNX_LOGITS_NAME, elemType: OnnxDataType.FLOAT, shape: [ONNX_BATCH_DIM, head.numClasses] });
  }

  const metadata: Record<string, string> = {
    'deepmetric.input': `${ONNX_INPUT_NAME}: ${inputDtype} [batch, ${height}, ${width}, ${channels}] (NHWC, pixel values 0-255)`,
    'deepmetric.normalization': JSON.stringify(normalization),
    'deepmetric.embedding_normalized': String(options.normalizeEmbedding ?? false),
    ...(head ? { 'deepmetric.head': head.name } : {}),
    ...options.metadata,
  };
  const bytes = encodeOnnxModel({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'deepmetric',
    producer_version: packageVersion(),
    doc_string: 'Exported by deepmetric: images NHWC 0-255 in; scaling, backbone (BatchNorm folded) and optional L2-normalisation/head logits inside.',
    graph: g.toProto(options.graphName ?? model.constructor.name),
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  const sig = (v: { name: string; elemType: number; shape: OnnxDim[] }): OnnxTensorSignature =>
    ({ name: v.name, dtype: v.elemType === OnnxDataType.UINT8 ? 'uint8' : 'float32', shape: v.shape });
  return {
    bytes, opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION, inputs: g.inputs.map(sig), outputs: g.outputs.map(sig), nodes: g.nodeCount, metadata,
  };
}

/**
 * Writes model (and, with output 'logits'/'both', options.head) to path as an .onnx file,
 * atomically. Returns the graph's signature and the file size.
 * @example
 * ```ts
 * await exportOnnx(model, 'model.onnx', { head, output: 'both', height: 32, width: 32, normalizeEmbedding: true });
 * ```
 */
export async function exportOnnx(model: Module, path: string, options: OnnxExportOptions = {}): Promise<OnnxModelSignature & { path: string; fileBytes: number }> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`onnx export: Expected a file path but received ${JSON.stringify(path)}`);
  const { bytes, ...signature } = buildOnnxModel(model, options);
  const target = resolve(path);
  await writeFileAtomic(target, bytes);
  return { ...signature, path: target, fileBytes: bytes.length };
}

// The graph's input and its scaling: images as a user has them (NHWC, pixel values 0–255, uint8 or
// float32) turned into the model's input exactly as imagesToTensor does for training:
// [N,H,W,C] → [N,C,H,W], / 255, then (x − mean) / std per channel for 'standard' normalisation.
import type { InputNormalization } from '../inference/index.js';
import { OnnxDataType } from './onnx-proto.js';
import type { OnnxGraph } from './onnx-graph.js';

export interface OnnxImageInput {
  height: number;
  width: number;
  channels: number;
  /** Element type of the input tensor; either way values are pixel intensities 0–255. */
  dtype: 'uint8' | 'float32';
  normalization: InputNormalization;
}

export const ONNX_INPUT_NAME = 'images';
export const ONNX_BATCH_DIM = 'batch';

function checkNormalization(n: InputNormalization, channels: number): void {
  if (n.kind === 'unit') return;
  if (n.kind !== 'standard') throw new TypeError(`onnx export: Expected normalization kind 'unit' or 'standard' but received ${JSON.stringify(n.kind)}`);
  const ok = (v: readonly number[] | undefined): boolean => Array.isArray(v) && v.length === channels && v.every(Number.isFinite);
  if (!ok(n.mean) || !ok(n.std) || n.std!.some((s) => s === 0)) {
    throw new TypeError(`onnx export: Expected ${channels} finite per-channel mean and non-zero std values for standard normalization but received ${JSON.stringify(n)}`);
  }
}

/** Adds the 'images' input [batch, H, W, C] and returns the value of the model's NCHW float input. */
export function emitImageInput(g: OnnxGraph, input: OnnxImageInput): string {
  checkNormalization(input.normalization, input.channels);
  const raw = g.addInput({
    name: ONNX_INPUT_NAME, elemType: input.dtype === 'uint8' ? OnnxDataType.UINT8 : OnnxDataType.FLOAT,
    shape: [ONNX_BATCH_DIM, input.height, input.width, input.channels],
  });
  const floats = input.dtype === 'uint8' ? g.node('Cast', [raw], { to: OnnxDataType.FLOAT }, 'input.cast') : raw;
  const nchw = g.node('Transpose', [floats], { perm: [0, 3, 1, 2] }, 'input.nchw');
  let x = g.node('Div', [nchw, g.constant([255], 'float32')], {}, 'input.unit');
  if (input.normalization.kind === 'standard') {
    const perChannel = (v: readonly number[]): string => g.constant([...v], 'float32', [1, input.channels, 1, 1]);
    x = g.node('Sub', [x, perChannel(input.normalization.mean!)], {}, 'input.centered');
    x = g.node('Div', [x, perChannel(input.normalization.std!)], {}, 'input.standardized');
  }
  return x;
}

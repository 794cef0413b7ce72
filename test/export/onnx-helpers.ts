// Helpers for the ONNX export tests: trained-looking weights, running a file in ONNX Runtime,
// comparing with our eval-mode outputs, and Python's onnx checker when it is installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { noGrad, tidy, rand, randn, type Tensor } from '../../src/index.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/batchnorm.js';
import type { Module } from '../../src/nn/module.js';
import { imagesToTensor, type InputNormalization } from '../../src/inference/index.js';

/**
 * Makes a fresh model look trained: random BatchNorm affine parameters, running statistics set to
 * the real batch statistics of random images (one train-mode pass with momentum 1; a fresh init's
 * running variance of 1 shrinks activations to ≈ 0 through a deep net), then jittered.
 */
export function perturbLikeTrained(model: Module, input: { channels: number; height: number; width: number }, seedImages = 8): void {
  const bns = model.namedModules().map(([, m]) => m).filter((m): m is BatchNorm1d | BatchNorm2d => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
  noGrad(() => tidy(() => {
    for (const bn of bns) {
      bn.weight?.copy_(rand(bn.weight.shape).add(0.5));
      bn.bias?.copy_(randn(bn.bias.shape).mul(0.2));
    }
    const momentum = bns.map((bn) => bn.momentum);
    bns.forEach((bn) => { (bn as { momentum: number }).momentum = 1; });
    const wasTraining = model.training;
    try {
      model.train();
      model.forward(rand([seedImages, input.channels, input.height, input.width]));
    } finally {
      model.train(wasTraining);
      bns.forEach((bn, i) => { (bn as { momentum: number }).momentum = momentum[i]; });
    }
    for (const bn of bns) {
      const n = bn.runningMean.shape;
      bn.runningMean.add_(randn(n).mul(bn.runningVar.sqrt()).mul(0.1));
      bn.runningVar.mul_(rand(n).mul(0.6).add(0.7));
    }
  }));
}

/** Deterministic pseudo-random pixels, NHWC. */
export function pixels(n: number, h: number, w: number, c: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: n * h * w * c }, (_, i) => ((i + salt * 7777) * 2654435761) >>> 24);
}

export interface Batch { images: Uint8Array; size: number; height: number; width: number; channels: number }

/** Our eval-mode input tensor for a batch, as training sees it. */
export function ourInput(b: Batch, norm: InputNormalization = { kind: 'unit' }): Tensor {
  return imagesToTensor(b, norm);
}

export async function runOrt(path: string, b: Batch, dtype: 'uint8' | 'float32' = 'uint8'): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const data = dtype === 'uint8' ? b.images : Float32Array.from(b.images);
    const out = await session.run({ images: new ort.Tensor(dtype, data, [b.size, b.height, b.width, b.channels]) });
    return out;
  } finally {
    await session.release();
  }
}

const rms = (xs: ArrayLike<number>): number => Math.sqrt(Array.from(xs).reduce((s, v) => s + v * v, 0) / xs.length);

/**
 * ONNX Runtime's output against ours: the norm-wise relative error ‖a − e‖/‖e‖ ≤ rtol (1e-4), and
 * every element within 10·rtol of max(|e|, rms(e)) so a local mistake cannot hide in the norm;
 * and the reference is not trivially small. Why norm-wise: both float32 implementations carry
 * rounding noise that a deep net amplifies — on the perturbed Keras MobileNetV2-0.5 (32×32) ours
 * and ONNX Runtime each differ from a float64 run of the same weights by ≈ 1.5e-4 at the worst
 * element but ≈ 2e-5 norm-wise.
 */
export function assertOrtClose(actual: ort.Tensor, expected: Tensor, what: string, rtol = 1e-4): void {
  assert.deepEqual([...actual.dims], expected.shape, `${what}: shape`);
  const e = expected.toNumbers();
  const a = actual.data as Float32Array;
  const floor = rms(e);
  assert.ok(floor > 1e-3, `${what}: the reference output is ≈ 0 (rms ${floor}); the test would prove nothing`);
  let worst = 0;
  let diff2 = 0;
  for (let i = 0; i < e.length; i++) {
    const rel = Math.abs(a[i] - e[i]) / Math.max(Math.abs(e[i]), floor);
    if (!(rel <= worst)) worst = rel;
    diff2 += (a[i] - e[i]) ** 2;
  }
  const normwise = Math.sqrt(diff2 / e.length) / floor;
  assert.ok(normwise <= rtol, `${what}: ONNX Runtime differs from ours by ${normwise.toExponential(2)} norm-wise relative (> ${rtol})`);
  assert.ok(worst <= 10 * rtol, `${what}: an element of ONNX Runtime's output differs from ours by ${worst.toExponential(2)} relative (> ${10 * rtol})`);
}

let pythonOnnx: boolean | undefined;

/** True when Debian's python3-onnx can be imported. */
export function pythonOnnxAvailable(): boolean {
  if (pythonOnnx === undefined) {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
      pythonOnnx = true;
    } catch {
      pythonOnnx = false;
    }
  }
  return pythonOnnx;
}

/** onnx.checker.check_model(full_check=True) in a child process; throws with the checker's message. */
export function pythonCheckModel(path: string): void {
  const script = 'import sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint("ok", m.opset_import[0].version)';
  try {
    const out = execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(out, /^ok 17/);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    assert.fail(`onnx.checker rejected ${path}: ${err.stderr || err.message}`);
  }
}

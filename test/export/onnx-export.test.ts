// ONNX export checked by the real runtime: every backbone, every classifying head and every layer
// kind is exported, run in onnxruntime-node at batch sizes 1 and 5, and compared with our
// eval-mode outputs on trained-looking weights; Python's onnx checker (full_check) when present.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensors, manualSeed, noGrad, tidy, createHead, type Tensor } from '../../src/index.js';
import { createEmbeddingNet, BACKBONES, ConvAutoencoder, SmallConvNet, EmbeddingNet } from '../../src/models/index.js';
import { Sequential, Residual } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/batchnorm.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { fuseConvBatchNorm } from '../../src/nn/fuse.js';
import { AvgPool2d, Dropout, Flatten, GELU, GlobalAvgPool2d, Hardswish, Lambda, LeakyReLU, MaxPool2d, ReLU, ReLU6, SiLU, Sigmoid, Tanh, ZeroPad2d } from '../../src/nn/simple-layers.js';
import type { Head } from '../../src/losses/head.js';
import type { AdaCosHead } from '../../src/losses/adacos-head.js';
import { exportOnnx, buildOnnxModel, type OnnxExportOptions } from '../../src/export/export-onnx.js';
import { decodeOnnxModel, onnxProtoPath } from '../../src/export/onnx-proto.js';
import type { InputNormalization } from '../../src/inference/index.js';
import { assertOrtClose, ourInput, perturbLikeTrained, pixels, pythonCheckModel, pythonOnnxAvailable, runOrt, type Batch } from './onnx-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dm-onnx-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CIFAR_STANDARD: InputNormalization = { kind: 'standard', mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/**
 * Exports model (+ head), runs the file at batch sizes 1 and 5 in ONNX Runtime and compares every
 * output with ours; runs Python's checker when available. Returns the file path.
 */
async function checkParity(name: string, model: Module, o: OnnxExportOptions & { height: number; width: number; channels?: number }): Promise<string> {
  const path = join(dir, `${name}.onnx`);
  const sig = await exportOnnx(model, path, o);
  const channels = o.channels ?? 3;
  const norm = o.normalization ?? { kind: 'unit' };
  assert.equal(sig.inputs[0].name, 'images');
  assert.deepEqual(sig.inputs[0].shape, ['batch', o.height, o.width, channels]);
  for (const size of [1, 5]) {
    const b: Batch = { images: pixels(size, o.height, o.width, channels, size), size, height: o.height, width: o.width, channels };
    const out = await runOrt(path, b, o.inputDtype ?? 'uint8');
    model.eval();
    o.head?.eval();
    noGrad(() => tidy(() => {
      const raw = model.forward(ourInput(b, norm));
      const wanted = o.output ?? 'embedding';
      if (wanted !== 'logits') {
        const emb = o.normalizeEmbedding ? raw.div(raw.norm(2, 1, true).clampMin(1e-12)) : raw;
        assertOrtClose(out.embedding, emb, `${name} embedding, batch ${size}`);
        if (size > 1) assertDistinctRows(emb, `${name} embedding`);
      } else {
        assert.equal(out.embedding, undefined, `${name}: no embedding output was asked for`);
      }
      if (wanted !== 'embedding') assertOrtClose(out.logits, o.head!.logits(raw), `${name} logits, batch ${size}`);
    }));
  }
  if (pythonOnnxAvailable()) pythonCheckModel(path);
  return path;
}

/** Different images give different outputs (the model is not collapsed to a constant). */
function assertDistinctRows(t: Tensor, what: string): void {
  const spread = tidy(() => t.flatten(1).std(0).mean().item());
  assert.ok(spread > 1e-3, `${what}: every image gives nearly the same output (spread ${spread})`);
}

const SIZES: Record<string, number> = {
  mobilenetv2: 32, 'mobilenetv2-cifar': 32, 'resnet18-cifar': 16, convnet: 24,
  'torchvision-resnet18': 32, 'torchvision-resnet50': 32, 'torchvision-mobilenet_v2': 32,
};

test('every backbone, with a head, matches ONNX Runtime at batch sizes 1 and 5', async (t) => {
  if (!pythonOnnxAvailable()) t.diagnostic('python3-onnx is absent: onnx.checker.check_model is skipped');
  const base = liveTensors();
  assert.deepEqual(Object.keys(SIZES).sort(), [...BACKBONES].sort(), 'a backbone of the registry has no parity case here');
  const heads: Record<string, string> = {
    mobilenetv2: 'l2softmax', 'mobilenetv2-cifar': 'softmax', 'resnet18-cifar': 'arcface', convnet: 'cosface',
    'torchvision-resnet18': 'softmax', 'torchvision-resnet50': 'l2softmax', 'torchvision-mobilenet_v2': 'normface',
  };
  for (const name of BACKBONES) {
    manualSeed(3);
    const size = SIZES[name];
    const model = createEmbeddingNet({ name, alpha: 0.5, inputSize: size });
    const head = createHead(heads[name], { embeddingDim: model.embeddingDim, numClasses: 10 });
    perturbLikeTrained(model, { channels: 3, height: size, width: size });
    const normalization = name === 'mobilenetv2' ? CIFAR_STANDARD : { kind: 'unit' as const };
    try {
      const path = await checkParity(name, model, { height: size, width: size, head, output: 'both', normalization });
      if (name === 'mobilenetv2') {
        // Keras's padding before stride-2 convolutions on even sizes: 0 before, 1 after.
        const pads = convPads(path);
        assert.ok(pads.some((p) => p.join(',') === '0,0,1,1'), `expected asymmetric Conv pads [0,0,1,1] among ${JSON.stringify(pads)}`);
      }
    } finally {
      model.dispose();
      head.dispose();
    }
  }
  assert.equal(liveTensors(), base);
});

function convPads(path: string): number[][] {
  const m = decodeOnnxModel(readFileSync(path)) as { graph: { node: { op_type: string; attribute?: { name: string; ints?: number[] }[] }[] } };
  return m.graph.node.filter((n) => n.op_type === 'Conv').map((n) => n.attribute?.find((a) => a.name === 'pads')?.ints ?? []);
}

test('every classifying head: logits and the L2-normalised embedding, float32 input', async () => {
  const base = liveTensors();
  const cases: [string, Record<string, unknown>][] = [
    ['softmax+center', {}], ['l2softmax', { learnableAlpha: true, alpha: 9 }], ['normface', {}], ['cosface', {}], ['arcface', { scale: 30 }],
    ['subcenter-arcface', { subCenters: 3 }], ['sphereface', {}], ['adacos', {}],
  ];
  for (const [headName, opts] of cases) {
    manualSeed(5);
    const model = new EmbeddingNet(new SmallConvNet({ width: 8 }), { projectionDim: 16 });
    const head: Head = createHead(headName, { embeddingDim: 16, numClasses: 7, ...opts });
    // A dynamic AdaCos scale that has moved away from its initial value, as after training.
    if (headName === 'adacos') noGrad(() => (head as AdaCosHead).scaleBuffer.fill_(4.25));
    perturbLikeTrained(model, { channels: 3, height: 12, width: 12 });
    try {
      await checkParity(`head-${headName}`, model, { height: 12, width: 12, head, output: 'both', normalizeEmbedding: true, inputDtype: 'float32' });
    } finally {
      model.dispose();
      head.dispose();
    }
  }
  assert.equal(liveTensors(), base);
});

test('logits only: the graph has just the logits output', async () => {
  manualSeed(6);
  const model = new EmbeddingNet(new SmallConvNet({ width: 8 }));
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 4 });
  perturbLikeTrained(model, { channels: 3, height: 8, width: 8 });
  try {
    const built = buildOnnxModel(model, { height: 8, width: 8, head, output: 'logits' });
    assert.deepEqual(built.outputs, [{ name: 'logits', dtype: 'float32', shape: ['batch', 4] }]);
    await checkParity('logits-only', model, { height: 8, width: 8, head, output: 'logits' });
  } finally {
    model.dispose();
    head.dispose();
  }
});

test('every layer kind: activations, pooling, padding, standalone BatchNorm, residual, dropout, linear', async () => {
  const base = liveTensors();
  manualSeed(7);
  const model = new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }), new BatchNorm2d({ numFeatures: 8 }), ReLU6(true),
    new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 2, padding: 'same' }), new BatchNorm2d({ numFeatures: 8, affine: false }), SiLU(),
    new ZeroPad2d([1, 2, 0, 1]),
    new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, padding: [0, 1, 1, 0], stride: 2, groups: 8, bias: false }), GELU(),
    MaxPool2d(3, 1, 1), Hardswish(),
    new Residual(new Sequential(new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, padding: 2, dilation: 2 }), Tanh())),
    LeakyReLU(0.2), new Dropout(0.5), AvgPool2d(2),
    new BatchNorm2d({ numFeatures: 8 }), Sigmoid(), Flatten(),
    new Linear({ inFeatures: 8 * 4 * 4, outFeatures: 12 }), new BatchNorm1d({ numFeatures: 12 }), ReLU(),
  );
  perturbLikeTrained(model, { channels: 3, height: 16, width: 16 });
  try {
    await checkParity('layers', model, { height: 16, width: 16 });
  } finally {
    model.dispose();
  }
  manualSeed(8);
  const gap = new Sequential(new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3 }), GlobalAvgPool2d());
  try {
    await checkParity('gap-1-channel', gap, { height: 9, width: 7, channels: 1 });
  } finally {
    gap.dispose();
  }
  assert.equal(liveTensors(), base);
});

test('the convolutional autoencoder (transposed convolutions) exports its reconstruction', async () => {
  manualSeed(9);
  const ae = new ConvAutoencoder({ widths: [8, 8, 8] });
  perturbLikeTrained(ae, { channels: 3, height: 16, width: 16 });
  try {
    await checkParity('autoencoder', ae, { height: 16, width: 16 });
  } finally {
    ae.dispose();
  }
});

test('a model already fused for inference exports the same outputs', async () => {
  manualSeed(10);
  const model = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.35, inputSize: 32 });
  perturbLikeTrained(model, { channels: 3, height: 32, width: 32 });
  const plain = buildOnnxModel(model);
  fuseConvBatchNorm(model.toChannelsLast());
  try {
    const fused = buildOnnxModel(model);
    assert.equal(fused.nodes, plain.nodes, 'the fused and unfused exports have the same graph');
    await checkParity('fused', model, { height: 32, width: 32 });
  } finally {
    model.dispose();
  }
});

test('clear errors: unsupported modules and layers, heads without logits, missing or misfit settings', () => {
  const base = liveTensors();
  class Mystery extends Module {
    forward(x: Tensor): Tensor { return x; }
  }
  const conv = () => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1 });
  const withMystery = new Sequential(conv(), new Sequential(new Mystery()));
  assert.throws(() => buildOnnxModel(withMystery, { height: 4, width: 4 }), /no ONNX emitter for Mystery at 1\.0/);
  const weird = new Sequential(conv(), new Lambda('Softplus', (x) => x.relu()));
  assert.throws(() => buildOnnxModel(weird, { height: 4, width: 4 }), /no ONNX form for the layer 'Softplus' at 1; supported: ReLU/);
  const net = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  assert.throws(() => buildOnnxModel(net), /Expected height and width for EmbeddingNet \(its input size is not part of the model\)/);
  assert.throws(() => buildOnnxModel(net, { height: 8, width: 8, output: 'logits' }), /Expected a head for output 'logits'/);
  const triplet = createHead('triplet', { embeddingDim: net.embeddingDim, numClasses: 3 });
  assert.throws(() => buildOnnxModel(net, { height: 8, width: 8, head: triplet, output: 'both' }), /head 'triplet' has no class logits/);
  const wrongDim = createHead('softmax', { embeddingDim: 5, numClasses: 3 });
  assert.throws(() => buildOnnxModel(net, { height: 8, width: 8, head: wrongDim, output: 'logits' }), /expects embeddings of size 5 but EmbeddingNet outputs \[1,16\]/);
  assert.throws(() => buildOnnxModel(net, { height: 8, width: 8, output: 'all' as never }), /Expected output among embedding, logits, both but received "all"/);
  assert.throws(() => buildOnnxModel(net, { height: 8, width: 8, normalization: { kind: 'standard', mean: [0.5], std: [1] } }), /Expected 3 finite per-channel mean/);
  const mobile = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.35, inputSize: 32 });
  assert.throws(() => buildOnnxModel(mobile, { channels: 1 }), /cannot take 1×32×32 images: MobileNetV2: Expected input \[N,3,H,W\]/);
  assert.throws(() => buildOnnxModel(withMystery, { height: 4, width: 4, channels: 5 }), /cannot take 5×4×4 images/);
  for (const m of [withMystery, weird, net, triplet, wrongDim, mobile]) m.dispose();
  assert.equal(liveTensors(), base);
});

test('the vendored onnx.proto resolves from dist and ships with its licence', () => {
  const path = onnxProtoPath();
  assert.ok(path.endsWith(join('src', 'export', 'vendor', 'onnx.proto')), path);
  assert.match(readFileSync(path, 'utf8'), /SPDX-License-Identifier: Apache-2.0[\s\S]*message ModelProto/);
  assert.ok(existsSync(join(path, '..', 'LICENSE')));
  assert.match(readFileSync(join(path, '..', 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
});

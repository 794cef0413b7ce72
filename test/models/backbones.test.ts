// Backbones: Keras parameter counts, output shapes, Keras's padding rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispose, liveTensors, manualSeed, randn, tidy, type Tensor } from '../../src/index.js';
import { createEmbeddingNet, kerasCorrectPad, makeDivisible, MobileNetV2, ResNet18Cifar, SmallConvNet } from '../../src/models/index.js';

manualSeed(0);

test('MobileNetV2 parameter counts match Keras (BatchNorm running statistics counted as Keras does)', () => {
  const a = new MobileNetV2({ alpha: 0.5, inputSize: 32 });
  assert.equal(a.countParameters({ includeBuffers: true }), 706_224);
  const b = new MobileNetV2({ alpha: 1.0, inputSize: 224, classes: 1000 });
  assert.equal(b.countParameters({ includeBuffers: true }), 3_538_984);
  a.dispose();
  b.dispose();
});

test('every width multiplier builds and gives the expected feature map', () => tidy(() => {
  for (const alpha of [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]) {
    const m = new MobileNetV2({ alpha, inputSize: 32 });
    const y = m.eval().forward(randn([1, 3, 32, 32]));
    assert.deepEqual(y.shape, [1, alpha > 1 ? makeDivisible(1280 * alpha) : 1280, 1, 1], `alpha ${alpha}`);
    m.dispose();
  }
  assert.throws(() => new MobileNetV2({ alpha: 0.6 }), /Expected alpha in 0.35, 0.5, 0.75, 1, 1.3, 1.4 but received 0.6/);
}));

test('output shapes of every backbone on 32×32 inputs', () => {
  const base = liveTensors();
  const cases: [string, { forward(x: Tensor): Tensor; dispose(): void }, number[]][] = [
    ['mobilenetv2', new MobileNetV2({ alpha: 0.5, inputSize: 32 }), [2, 1280, 1, 1]],
    ['mobilenetv2-cifar', new MobileNetV2({ alpha: 0.5, inputSize: 32, variant: 'cifar' }), [2, 1280, 4, 4]],
    ['resnet18-cifar', new ResNet18Cifar(), [2, 512, 4, 4]],
    ['convnet', new SmallConvNet(), [2, 128, 8, 8]],
  ];
  tidy(() => {
    const x = randn([2, 3, 32, 32]).contiguous('channels_last');
    for (const [name, m, shape] of cases) assert.deepEqual(m.forward(x).shape, shape, name);
  });
  const withTop = new MobileNetV2({ alpha: 0.35, inputSize: 32, classes: 10 });
  tidy(() => assert.deepEqual(withTop.forward(randn([3, 3, 32, 32])).shape, [3, 10]));
  const emb = createEmbeddingNet({ name: 'convnet', projectionDim: 64 });
  tidy(() => assert.deepEqual(emb.forward(randn([5, 3, 32, 32])).shape, [5, 64]));
  for (const [, m] of cases) m.dispose();
  withTop.dispose();
  emb.dispose();
  assert.equal(liveTensors(), base);
});

test("Keras's correct_pad is asymmetric for even sizes", () => {
  assert.deepEqual(kerasCorrectPad(32, 3), [0, 1, 0, 1]);
  assert.deepEqual(kerasCorrectPad(7, 3), [1, 1, 1, 1]);
  assert.equal(makeDivisible(32 * 0.5), 16);
  assert.equal(makeDivisible(Math.trunc(24 * 0.35)), 8);
  assert.equal(makeDivisible(1280 * 1.3), 1664);
});

test('parameter names follow PyTorch dotted paths', () => {
  const m = new MobileNetV2({ alpha: 0.35, inputSize: 32 });
  const names = m.namedParameters().map(([n]) => n);
  assert.ok(names.includes('features.0.0.weight'), 'stem conv weight');
  assert.ok(names.includes('features.1.conv.0.0.weight'), 'block 0 depthwise conv');
  assert.ok(m.namedBuffers().some(([n]) => n === 'features.0.1.running_mean'));
  assert.match(m.summary(), /parameters: [\d,]+; with buffers: [\d,]+/);
  dispose(m.parameters());
  dispose(m.namedBuffers().map(([, t]) => t));
});

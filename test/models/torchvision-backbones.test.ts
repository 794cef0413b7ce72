// torchvision's architectures: feature-map shapes at 64×64, parameter counts equal to torchvision's,
// and inference with BatchNorm folded into the convolutions (including the ResNet blocks, which
// hold conv/bn as named children) equal to eval-mode inference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, noGrad, randn, tidy } from '../../src/index.js';
import { BatchNorm2d, fuseConvBatchNorm } from '../../src/nn/index.js';
import { createEmbeddingNet } from '../../src/models/index.js';
import { assertClose } from '../helpers.js';

// torchvision 0.14: sum(p.numel() for p in model.parameters()) with the 1000-class top, minus the top.
const CASES: [string, number, number][] = [
  ['torchvision-resnet18', 512, 11_689_512 - (512 * 1000 + 1000)],
  ['torchvision-resnet50', 2048, 25_557_032 - (2048 * 1000 + 1000)],
  ['torchvision-mobilenet_v2', 1280, 3_504_872 - (1280 * 1000 + 1000)],
];

for (const [name, channels, params] of CASES) {
  test(`${name}: parameter count, 64×64 → 2×2 feature map, fused inference equals eval-mode inference`, () => {
    manualSeed(3);
    const base = liveTensors();
    const model = createEmbeddingNet({ name }).toChannelsLast();
    assert.equal(model.countParameters(), params);
    assert.equal(model.embeddingDim, channels);
    tidy(() => assert.deepEqual(noGrad(() => model.backbone.forward(randn([1, 3, 64, 64]))).shape, [1, channels, 2, 2]));
    // Train-mode passes give the running statistics values to fold.
    for (let i = 0; i < 2; i++) tidy(() => { noGrad(() => model.forward(randn([4, 3, 64, 64]).mul(2).add(0.5))); });
    const x = tidy(() => randn([2, 3, 64, 64]).contiguous('channels_last'));
    model.eval();
    const expected = tidy(() => noGrad(() => model.forward(x)).toNumbers());
    fuseConvBatchNorm(model);
    assert.equal(model.namedModules().filter(([, m]) => m instanceof BatchNorm2d).length, 0, 'every BatchNorm folded');
    tidy(() => assertClose(noGrad(() => model.forward(x)), expected, { atol: 1e-4, rtol: 1e-3, what: name }));
    model.dispose();
    x.dispose();
    assert.equal(liveTensors(), base);
  });
}

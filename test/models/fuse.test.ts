// Folding BatchNorm into convolutions for inference keeps the eval-mode outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, randn, tidy, noGrad } from '../../src/index.js';
import { fuseConvBatchNorm, Conv2d, BatchNorm2d } from '../../src/nn/index.js';
import { createEmbeddingNet } from '../../src/models/index.js';
import { assertClose } from '../helpers.js';

for (const name of ['mobilenetv2', 'resnet18-cifar', 'convnet']) {
  test(`${name}: fused inference equals eval-mode inference`, () => {
    manualSeed(2);
    const base = liveTensors();
    const model = createEmbeddingNet({ name, alpha: 0.35 }).toChannelsLast();
    // Train-mode passes give the running statistics non-trivial values to fold.
    for (let i = 0; i < 3; i++) tidy(() => { noGrad(() => model.forward(randn([16, 3, 32, 32]).mul(2).add(0.5))); });
    const x = tidy(() => randn([4, 3, 32, 32]).contiguous('channels_last'));
    model.eval();
    const expected = tidy(() => noGrad(() => model.forward(x)).toNumbers());
    const bnBefore = model.namedModules().filter(([, m]) => m instanceof BatchNorm2d).length;
    fuseConvBatchNorm(model);
    assert.equal(model.namedModules().filter(([, m]) => m instanceof BatchNorm2d).length, 0, `all ${bnBefore} BatchNorms folded`);
    assert.ok(model.namedModules().some(([, m]) => m instanceof Conv2d && m.bias !== null));
    tidy(() => assertClose(noGrad(() => model.forward(x)), expected, { atol: 1e-4, rtol: 1e-3, what: name }));
    model.train();
    assert.throws(() => tidy(() => model.forward(x)), /folded into the convolution before it for inference/);
    model.dispose();
    x.dispose();
    assert.equal(liveTensors(), base);
  });
}

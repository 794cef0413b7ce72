import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveTensors, noGrad, tidy } from '../../src/index.js';
import { BatchNorm2d } from '../../src/nn/batchnorm.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { sharedBytes, type ImageDataset } from '../../src/data/dataset.js';
import { datasetSlice } from '../../src/inference/index.js';
import { batchNormLayers, PreciseBatchNorm, recalibrateBatchNorm } from '../../src/train/precise-bn.js';
import { manualSeed } from '../../src/tensor/creation.js';
import { noiseBytes } from '../data/fixtures.js';

function dataset(count: number): ImageDataset {
  const images = sharedBytes(count * 4 * 4 * 3);
  images.set(noiseBytes(images.length, 5));
  return { images, labels: new Int32Array(count), height: 4, width: 4, channels: 3, classes: ['a'] };
}

describe('precise BatchNorm statistics', () => {
  it('sets running mean/var of a first-layer BatchNorm to the average of the per-batch statistics (plain JS reference)', () => {
    const base = liveTensors();
    const bn = new BatchNorm2d({ numFeatures: 3, momentum: 0.001 });
    const model = new Sequential(bn);
    const data = dataset(10);
    // A layer in eval mode (e.g. in a frozen backbone) keeps its statistics.
    model.eval();
    assert.equal(recalibrateBatchNorm(model, data, { norm: { kind: 'unit' }, batchSize: 4 }), 0);
    assert.deepEqual(bn.runningMean.toNumbers(), [0, 0, 0]);
    model.train();
    // Batches of 4: [0,4), [4,8); the last two images do not fill a batch and are left out.
    assert.equal(recalibrateBatchNorm(model, data, { norm: { kind: 'unit' }, batchSize: 4 }), 1);
    assert.equal(bn.momentum, 0.001, 'momentum restored');
    assert.equal(model.training, true, 'mode unchanged');
    const expectedMean = [0, 0, 0];
    const expectedVar = [0, 0, 0];
    for (const start of [0, 4]) {
      for (let c = 0; c < 3; c++) {
        const values: number[] = [];
        for (let i = start; i < start + 4; i++) for (let p = 0; p < 16; p++) values.push(data.images[(i * 16 + p) * 3 + c] / 255);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const unbiased = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
        expectedMean[c] += mean / 2;
        expectedVar[c] += unbiased / 2;
      }
    }
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-5);
    assert.ok(close(bn.runningMean.toNumbers(), expectedMean), `${bn.runningMean.toNumbers()} vs ${expectedMean}`);
    assert.ok(close(bn.runningVar.toNumbers(), expectedVar), `${bn.runningVar.toNumbers()} vs ${expectedVar}`);
    model.dispose();
    assert.equal(liveTensors(), base);
  });

  it('makes eval-mode outputs match train-mode outputs on the calibration batch of a conv-BN-conv-BN net', () => {
    manualSeed(3);
    const model = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }), new BatchNorm2d({ numFeatures: 8, momentum: 0.001 }),
      new Conv2d({ inChannels: 8, outChannels: 4, kernelSize: 3, padding: 1 }), new BatchNorm2d({ numFeatures: 4, momentum: 0.001 }),
    );
    const base = liveTensors();
    const data = dataset(64);
    const norm = { kind: 'unit' } as const;
    const [trainOut, evalBefore, evalAfter] = noGrad(() => tidy(() => {
      const x = datasetSlice(data, 0, 64, norm, 'cpu');
      model.train();
      const t = model.forward(x).toNumbers();
      model.eval();
      const before = model.forward(x).toNumbers();
      model.train();
      new PreciseBatchNorm(data, 64, 0).apply(model, { norm, batchSize: 64 });
      model.eval();
      return [t, before, model.forward(x).toNumbers()];
    }));
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    // Running variance is the unbiased estimate (n/(n−1), n = 64·16): a relative error of ≈ 5e-4.
    assert.ok(maxDiff(evalAfter, trainOut) < 1e-2, `after: ${maxDiff(evalAfter, trainOut)}`);
    assert.ok(maxDiff(evalBefore, trainOut) > 0.1, `before: ${maxDiff(evalBefore, trainOut)} (untouched statistics are far off)`);
    assert.equal(batchNormLayers(model).length, 2);
    assert.equal(liveTensors(), base);
    model.dispose();
  });

  it('does nothing when disabled (0 images)', () => {
    const bn = new BatchNorm2d({ numFeatures: 3 });
    const model = new Sequential(bn).train();
    new PreciseBatchNorm(dataset(8), 0, 0).apply(model, { norm: { kind: 'unit' } });
    assert.deepEqual(bn.runningMean.toNumbers(), [0, 0, 0]);
    assert.deepEqual(bn.runningVar.toNumbers(), [1, 1, 1]);
    model.dispose();
  });
});

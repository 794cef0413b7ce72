// Module behaviour: train/eval for BatchNorm and Dropout, state dicts, learning a synthetic task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, F, liveTensors, manualSeed, ones, randn, randint, tensor, tidy, zeros, type Tensor } from '../../src/index.js';
import { BatchNorm2d, Dropout, Linear, Sequential } from '../../src/nn/index.js';
import { EmbeddingNet, SmallConvNet } from '../../src/models/index.js';
import { assertClose } from '../helpers.js';

manualSeed(1);

test('BatchNorm uses batch statistics and updates running ones in train mode, running ones in eval', () => tidy(() => {
  const bn = new BatchNorm2d({ numFeatures: 2, momentum: 0.5 });
  const x = randn([8, 2, 3, 3]).mul(3).add(5);
  const y = bn.forward(x);
  assertClose(y.mean([0, 2, 3]), [0, 0], { atol: 1e-5 });
  const batchMean = x.mean([0, 2, 3]).toNumbers();
  assertClose(bn.runningMean, batchMean.map((m) => 0.5 * m), { what: 'running mean after one step' });
  bn.eval();
  const before = bn.runningMean.toNumbers();
  const z = bn.forward(x);
  assert.deepEqual(bn.runningMean.toNumbers(), before, 'eval leaves running stats alone');
  const rv = bn.runningVar.toNumbers();
  const manual = x.sub(tensor(before).reshape(1, 2, 1, 1)).div(tensor(rv).add(bn.eps).sqrt().reshape(1, 2, 1, 1));
  assertClose(z, manual.toNumbers(), { what: 'eval output' });
  bn.dispose();
}));

test('Dropout zeroes and rescales in train mode and is the identity in eval', () => tidy(() => {
  const d = new Dropout(0.5);
  const x = ones([10000]);
  const y = d.forward(x).toNumbers();
  const zeros_ = y.filter((v) => v === 0).length;
  assert.ok(zeros_ > 4500 && zeros_ < 5500, `${zeros_} zeros`);
  assert.ok(y.every((v) => v === 0 || v === 2));
  d.eval();
  assert.deepEqual(d.forward(x).toNumbers(), x.toNumbers());
}));

test('loadStateDict is strict and names missing, unexpected and mismatched keys', () => tidy(() => {
  const a = new Sequential(new Linear({ inFeatures: 3, outFeatures: 2 }), new BatchNorm2d({ numFeatures: 2 }));
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd).sort(), ['0.bias', '0.weight', '1.bias', '1.running_mean', '1.running_var', '1.weight']);
  assert.throws(() => a.loadStateDict({ ...sd, extra: zeros([1]), '0.weight': zeros([2, 4]) }),
    /loadStateDict: the state does not fit Sequential: unexpected keys: extra; shape mismatches: 0\.weight \(expected \[2,3\], received \[2,4\]\)/);
  const partial = { '0.weight': zeros([2, 3]) };
  assert.throws(() => a.loadStateDict(partial), /missing keys: 0\.bias, 1\.weight/);
  assert.deepEqual(a.loadStateDict(partial, { strict: false }).missing.length, 5);
  assert.deepEqual(a.stateDict()['0.weight'].toNumbers(), [0, 0, 0, 0, 0, 0]);
  a.dispose();
}));

test('a small ConvNet learns a synthetic task to > 95% accuracy', () => {
  manualSeed(3);
  const base = liveTensors();
  // Class = the quadrant holding a bright 4×4 patch, on noise.
  const makeBatch = (n: number): { x: Tensor; y: Tensor } => tidy(() => {
    const y = randint(0, 4, [n]);
    const labels = y.toNumbers();
    const img = new Float32Array(n * 3 * 16 * 16);
    labels.forEach((c, i) => {
      const oy = c < 2 ? 2 : 10;
      const ox = c % 2 === 0 ? 2 : 10;
      for (let ch = 0; ch < 3; ch++) for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) img[((i * 3 + ch) * 16 + oy + r) * 16 + ox + q] = 2;
    });
    const x = tensor(img, { shape: [n, 3, 16, 16] }).add(randn([n, 3, 16, 16]).mul(0.5));
    return { x: x.contiguous('channels_last'), y };
  });
  const net = new EmbeddingNet(new SmallConvNet({ width: 8 }));
  const fc = new Linear({ inFeatures: net.embeddingDim, outFeatures: 4 });
  const opt = new Adam([...net.parameters(), ...fc.parameters()], { lr: 3e-3 });
  for (let step = 0; step < 120; step++) {
    tidy(() => {
      const { x, y } = makeBatch(32);
      opt.zeroGrad();
      F.crossEntropy(fc.forward(net.forward(x)), y).backward();
      opt.step();
    });
  }
  net.eval();
  const acc = tidy(() => {
    const { x, y } = makeBatch(400);
    return fc.forward(net.forward(x)).argmax(1).eq(y).float().mean().item();
  });
  assert.ok(acc > 0.95, `accuracy ${acc}`);
  opt.dispose();
  net.dispose();
  fc.dispose();
  assert.equal(liveTensors(), base);
});

// The autoencoder baseline: shapes, state-dict names, MSE training that lowers the reconstruction
// error, per-image errors, a checkpoint that restores the same model, and no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConvAutoencoder } from '../../src/models/index.js';
import { reconstructionErrors, trainAutoencoder } from '../../src/anomaly/train-autoencoder.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { inEvalMode, imagesToTensor } from '../../src/inference/index.js';
import { liveTensors, manualSeed, rand, tidy, noGrad } from '../../src/index.js';
import type { ImageDataset } from '../../src/data/dataset.js';

const quiet = { write: () => true, isTTY: false };

/** Smooth colour gradients (learnable) with a little noise: n images of 32×32×3. */
function gradients(n: number, seed = 7): ImageDataset {
  let state = seed;
  const r = (): number => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const images = new Uint8Array(n * 32 * 32 * 3);
  for (let i = 0; i < n; i++) {
    const c = [r(), r(), r()];
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        for (let ch = 0; ch < 3; ch++) images[((i * 32 + y) * 32 + x) * 3 + ch] = Math.round(255 * Math.min(1, c[ch] * (x + y) / 62 + 0.1 * r()));
      }
    }
  }
  return { images, labels: new Int32Array(n), height: 32, width: 32, channels: 3, classes: ['only'] };
}

test('ConvAutoencoder: 32×32×3 → 4×4×128 code → 32×32×3 reconstruction in [0, 1]', () => {
  const base = liveTensors();
  manualSeed(0);
  const ae = new ConvAutoencoder();
  tidy(() => {
    const x = rand([2, 3, 32, 32]);
    assert.deepEqual(ae.encode(x).shape, [2, 128, 4, 4]);
    const y = ae.forward(x);
    assert.deepEqual(y.shape, [2, 3, 32, 32]);
    assert.ok(y.min().item() >= 0 && y.max().item() <= 1, 'sigmoid output');
    assert.deepEqual(ae.reconstructionError(x).shape, [2]);
    assert.throws(() => ae.forward(rand([2, 1, 32, 32])), /Expected input \[N,3,H,W\] with H and W multiples of 8 but received shape \[2,1,32,32\]/);
    assert.throws(() => ae.forward(rand([2, 3, 30, 30])), /multiples of 8/);
  });
  const names = Object.keys(ae.stateDict());
  assert.ok(names.includes('encoder.0.0.weight') && names.includes('encoder.2.1.running_mean'), names.join(','));
  assert.ok(names.includes('decoder.0.weight') && names.includes('decoder.6.bias'), names.join(','));
  assert.deepEqual(ae.stateDict()['decoder.0.weight'].shape, [128, 64, 3, 3], 'ConvTranspose2d weight is [in, out, k, k]');
  ae.dispose();
  assert.equal(liveTensors(), base);
});

test('trainAutoencoder lowers the reconstruction MSE, checkpoints the model, and scores per image', async () => {
  const base = liveTensors();
  const data = gradients(32);
  manualSeed(1);
  const ae = new ConvAutoencoder();
  const before = reconstructionErrors(ae, data, { batchSize: 16 });
  assert.equal(before.length, 32);
  const dir = mkdtempSync(join(tmpdir(), 'dm-ae-'));
  const r = await trainAutoencoder({ model: ae, train: data, epochs: 4, batchSize: 8, lr: 1e-3, seed: 1, dir, log: () => {}, progressStream: quiet });
  assert.equal(r.history.length, 4);
  assert.ok(r.history[3].train_loss < r.history[0].train_loss, `training loss ${r.history.map((e) => e.train_loss.toFixed(4)).join(' → ')}`);
  const after = reconstructionErrors(ae, data, { batchSize: 16 });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(mean(after) < mean(before), `eval-mode error ${mean(before).toFixed(4)} → ${mean(after).toFixed(4)}`);

  // The checkpoint restores exactly this model.
  const copy = new ConvAutoencoder();
  const ckpt = loadCheckpoint(join(dir, 'last.ckpt'));
  assert.equal(ckpt.epoch, 4);
  ckpt.restore({ modules: { autoencoder: copy }, rng: false });
  const restored = reconstructionErrors(copy, data, { batchSize: 16 });
  restored.forEach((v, i) => assert.ok(Math.abs(v - after[i]) < 1e-6, `image ${i}: ${v} vs ${after[i]}`));
  // Per-image error is the mean squared difference over the image's pixels, whatever the batch.
  const one = { ...data, images: data.images.subarray(0, 32 * 32 * 3), labels: data.labels.subarray(0, 1) };
  const manual = inEvalMode([ae], () => noGrad(() => tidy(() => {
    const x = imagesToTensor({ images: one.images, size: 1, height: 32, width: 32, channels: 3 });
    const a = x.toNumbers();
    const b = ae.forward(x).toNumbers();
    return a.reduce((sum, v, i) => sum + (v - b[i]) ** 2, 0) / a.length;
  })));
  assert.ok(Math.abs(manual - after[0]) < 1e-6, `${manual} vs ${after[0]}`);
  assert.ok(Math.abs(reconstructionErrors(ae, one)[0] - after[0]) < 1e-6, 'batching does not change the score');
  copy.dispose();
  ae.dispose();
  assert.equal(liveTensors(), base);
});

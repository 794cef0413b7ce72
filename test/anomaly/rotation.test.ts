// Rotation prediction: the four rotations are exactly the turned pixels (NHWC bytes and NCHW model
// inputs), labels follow the rotation-major order, gradients of the auxiliary loss reach the
// backbone, and a one-class rotation model trained briefly ranks images of another structure
// above normal ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensors, manualSeed, tensor, tidy } from '../../src/index.js';
import { EmbeddingNet } from '../../src/models/embedding-net.js';
import { SmallConvNet } from '../../src/models/small-convnet.js';
import { SoftmaxHead } from '../../src/losses/softmax-head.js';
import { RotationHead } from '../../src/losses/rotation-head.js';
import { rotate90, rotationBatch } from '../../src/losses/rotate.js';
import { RotationAuxiliaryTask, RotationOnlyTask } from '../../src/train/rotation-task.js';
import { rotationScores } from '../../src/anomaly/rotation/rotation-score.js';
import { rotatedDataset } from '../../src/anomaly/rotation/rotated-dataset.js';
import { imagesToTensor } from '../../src/inference/index.js';
import { train } from '../../src/train/trainer.js';
import { anomalyMetrics } from '../../src/anomaly/anomaly-metrics.js';
import type { ImageDataset } from '../../src/data/dataset.js';

/** Reference: image (HWC bytes, side s) turned k quarter turns counter-clockwise, pixel by pixel. */
function turnPixels(img: Uint8Array, s: number, c: number, k: number): Uint8Array {
  let cur = img;
  for (let t = 0; t < k; t++) {
    const out = new Uint8Array(cur.length);
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) for (let ch = 0; ch < c; ch++) {
      out[(i * s + j) * c + ch] = cur[(j * s + (s - 1 - i)) * c + ch]; // out[i][j] = in[j][s−1−i]
    }
    cur = out;
  }
  return cur;
}

function randomBytes(n: number, seed: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  });
}

test('the 4 rotations are exactly the rotated pixels, NHWC bytes and NCHW model inputs alike, labels rotation-major', () => {
  const base = liveTensors();
  const [n, s, c] = [3, 5, 3];
  const bytes = randomBytes(n * s * s * c, 7);
  const per = s * s * c;
  const expected = [0, 1, 2, 3].flatMap((k) => Array.from({ length: n }, (_, i) => Array.from(turnPixels(bytes.subarray(i * per, (i + 1) * per), s, c, k)))).flat();
  tidy(() => {
    const nhwc = rotationBatch(tensor(bytes, { shape: [n, s, s, c] }), 'nhwc');
    assert.deepEqual(nhwc.images.shape, [4 * n, s, s, c]);
    assert.deepEqual(nhwc.images.toNumbers(), expected);
    assert.deepEqual(nhwc.labels.toNumbers(), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    assert.equal(nhwc.labels.dtype, 'int64');
    // The model input: NHWC bytes viewed as [N,C,H,W] in channels-last memory.
    const x = imagesToTensor({ images: bytes, size: n, height: s, width: s, channels: c });
    const nchw = rotationBatch(x);
    assert.deepEqual(nchw.images.shape, [4 * n, c, s, s]);
    assert.ok(nchw.images.isContiguous('channels_last'), 'channels-last for the conv nets');
    const back = nchw.images.permute(0, 2, 3, 1).mul(255).round().toNumbers();
    assert.deepEqual(back, expected);
    // rotate90 composes: four quarter turns are the identity; −1 is three.
    assert.deepEqual(rotate90(rotate90(x, 2), 2).toNumbers(), x.toNumbers());
    assert.deepEqual(rotate90(x, -1).toNumbers(), rotate90(x, 3).toNumbers());
  });
  tidy(() => {
    assert.throws(() => rotationBatch(tensor(new Uint8Array(2 * 4 * 5 * 3), { shape: [2, 4, 5, 3] }), 'nhwc'), /Expected square images for rotationBatch .*height 4 and width 5/);
    assert.throws(() => rotate90(tensor([1, 2, 3]), 1), /Expected a 4-d batch of images for rotate90/);
  });
  assert.equal(liveTensors(), base);
});

test('rotatedDataset holds every image in its 4 rotations with rotation labels', () => {
  const [n, s, c] = [2, 4, 1];
  const bytes = randomBytes(n * s * s * c, 3);
  const d = rotatedDataset({ images: bytes, labels: new Int32Array([1, 0]), height: s, width: s, channels: c, classes: ['a', 'b'] });
  assert.deepEqual(Array.from(d.labels), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual(d.classes, ['0°', '90°', '180°', '270°']);
  assert.deepEqual(Array.from(d.images.subarray(3 * s * s, 4 * s * s)), Array.from(turnPixels(bytes.subarray(s * s), s, c, 1)));
});

test('the auxiliary rotation loss is added to the class loss and its gradients reach the backbone', () => {
  const base = liveTensors();
  manualSeed(1);
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  const head = new SoftmaxHead({ embeddingDim: model.embeddingDim, numClasses: 3 });
  const rot = new RotationHead({ embeddingDim: model.embeddingDim });
  const task = new RotationAuxiliaryTask(rot, { weight: 0.5 });
  const x = imagesToTensor({ images: randomBytes(4 * 8 * 8 * 3, 5), size: 4, height: 8, width: 8, channels: 3 });
  const y = tensor([0, 1, 2, 1], { dtype: 'int64' });
  tidy(() => {
    const step = task.forward(model, x, y);
    assert.deepEqual(step.embeddings.shape, [4, model.embeddingDim], 'the class head sees the unrotated rows');
    assert.deepEqual(step.labels.toNumbers(), [0, 1, 2, 1]);
    // The unrotated rows are the first quarter of one pass over all 4N rows.
    const all = model.forward(rotationBatch(x).images);
    assert.deepEqual(step.embeddings.toNumbers().map((v) => v.toFixed(5)), all.narrow(0, 0, 4).toNumbers().map((v) => v.toFixed(5)));
    const expectedAux = rot.loss(all, rotationBatch(x).labels).item() * 0.5;
    assert.ok(Math.abs(step.loss!.item() - expectedAux) < 1e-5, `${step.loss!.item()} vs ${expectedAux}`);
    step.loss!.backward(); // the rotation loss alone
  });
  for (const [name, p] of [...model.namedParameters(), ...rot.namedParameters().map(([n, t]) => [`rotation.${n}`, t] as const)]) {
    const g = p.grad;
    assert.ok(g !== null, `${name} has a gradient`);
    const norm = tidy(() => g!.abs().sum().item());
    g!.dispose();
    assert.ok(norm > 0, `${name}: the rotation loss reaches it`);
  }
  x.dispose();
  y.dispose();
  model.dispose();
  head.dispose();
  rot.dispose();
  assert.equal(liveTensors(), base);
});

/** 16×16 grey images: normal = a vertical ramp (dark top, bright bottom) + noise; anomaly = noise around mid-grey, no orientation. */
function orientationData(n: number, kind: 'normal' | 'anomaly', seed: number): ImageDataset {
  const s = 16;
  let state = seed;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const images = new Uint8Array(n * s * s * 3);
  for (let i = 0; i < n; i++) {
    const shift = rand() * 4;
    for (let r = 0; r < s; r++) for (let col = 0; col < s; col++) {
      const level = kind === 'normal' ? 20 + (215 * (r + shift)) / (s + 4) : 128;
      const v = Math.max(0, Math.min(255, level + (rand() - 0.5) * 40));
      images.fill(v, ((i * s + r) * s + col) * 3, ((i * s + r) * s + col) * 3 + 3);
    }
  }
  return { images, labels: new Int32Array(n), height: s, width: s, channels: 3, classes: ['normal'] };
}

test('a one-class rotation model trained briefly ranks images without the normal orientation structure above normal ones', async () => {
  const base = liveTensors();
  manualSeed(2);
  const model = new EmbeddingNet(new SmallConvNet({ width: 4 }));
  const head = new RotationHead({ embeddingDim: model.embeddingDim });
  const trainSet = orientationData(64, 'normal', 11);
  const testNormal = orientationData(24, 'normal', 12);
  const testAnomaly = orientationData(24, 'anomaly', 13);
  const r = await train({
    model, head, train: trainSet, val: rotatedDataset(testNormal), task: new RotationOnlyTask(),
    config: { epochs: 10, batchSize: 16, optimizer: { name: 'adam', lr: 0.01 }, seed: 0, normalization: { kind: 'unit' } },
    dir: mkdtempSync(join(tmpdir(), 'dm-rotation-')), log: () => {}, progressStream: { write: () => true },
  });
  assert.ok(r.finalValAcc > 0.9, `rotation accuracy on held-out normal images ${r.finalValAcc}`);
  assert.ok(r.history.at(-1)!.train_acc! <= 1, 'training accuracy counts images, not rotated rows');
  const norm = { kind: 'unit' } as const;
  const normal = rotationScores(model, head, testNormal, { norm });
  const anomaly = rotationScores(model, head, testAnomaly, { norm, tta: 'flip' });
  const normalFlip = rotationScores(model, head, testNormal, { norm, tta: 'flip' });
  assert.ok(normal.every((v) => Number.isFinite(v) && v >= 0), 'minus a sum of log-probabilities is ≥ 0');
  const auroc = anomalyMetrics(normalFlip, anomaly).auroc;
  assert.ok(auroc > 0.9, `AUROC ${auroc}`);
  assert.ok(anomalyMetrics(normal, anomaly).auroc > 0.9);
  model.dispose();
  head.dispose();
  assert.equal(liveTensors(), base);
});

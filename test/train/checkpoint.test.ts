// Checkpoints: identical outputs after save → load, exact resumption, and corrupt files rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, F, manualSeed, randn, rand, randint, tidy, liveTensors, saveSafetensors } from '../../src/index.js';
import { Linear } from '../../src/nn/index.js';
import { MobileNetV2 } from '../../src/models/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'dm-ckpt-'));

test('save → load gives identical outputs, optimizer state, RNG state, history and config', () => {
  manualSeed(11);
  const base = liveTensors();
  const model = new MobileNetV2({ alpha: 0.35, inputSize: 32 });
  const head = new Linear({ inFeatures: 1280, outFeatures: 10 });
  const opt = new Adam([...model.parameters(), ...head.parameters()], { lr: 1e-3, amsgrad: true });
  const x = tidy(() => randn([4, 3, 32, 32]).contiguous('channels_last'));
  const y = randint(0, 10, [4]);
  const step = (): void => tidy(() => {
    opt.zeroGrad();
    F.crossEntropy(head.forward(model.forward(x).flatten(1)), y).backward();
    opt.step();
  });
  step();
  const file = join(dir, 'a.ckpt');
  saveCheckpoint(file, { modules: { model, head }, optimizer: opt, epoch: 3, history: [{ epoch: 1, acc: 0.5 }], config: { alpha: 0.35 } });
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
  const nextRandom = tidy(() => rand([3]).toNumbers());
  step();
  model.eval();
  const expected = tidy(() => head.forward(model.forward(x).flatten(1)).toNumbers());

  const model2 = new MobileNetV2({ alpha: 0.35, inputSize: 32 });
  const head2 = new Linear({ inFeatures: 1280, outFeatures: 10 });
  const opt2 = new Adam([...model2.parameters(), ...head2.parameters()], { lr: 1e-3, amsgrad: true });
  const ckpt = loadCheckpoint<{ epoch: number; acc: number }[], { alpha: number }>(file);
  assert.equal(ckpt.epoch, 3);
  assert.deepEqual(ckpt.history, [{ epoch: 1, acc: 0.5 }]);
  assert.deepEqual(ckpt.config, { alpha: 0.35 });
  ckpt.restore({ modules: { model: model2, head: head2 }, optimizer: opt2 });
  assert.deepEqual(tidy(() => rand([3]).toNumbers()), nextRandom, 'RNG state restored');
  const step2 = (): void => tidy(() => {
    opt2.zeroGrad();
    F.crossEntropy(head2.forward(model2.forward(x).flatten(1)), y).backward();
    opt2.step();
  });
  step2();
  model2.eval();
  const resumed = tidy(() => head2.forward(model2.forward(x).flatten(1)).toNumbers());
  assert.deepEqual(resumed, expected, 'resumed training gives the same parameters as uninterrupted training');
  for (const o of [opt, opt2]) o.dispose();
  for (const m of [model, head, model2, head2]) m.dispose();
  x.dispose();
  y.dispose();
  assert.equal(liveTensors(), base);
});

test('truncated, corrupted and foreign files are rejected with a clear error', () => {
  const base = liveTensors();
  const head = new Linear({ inFeatures: 8, outFeatures: 2 });
  const file = join(dir, 'b.ckpt');
  saveCheckpoint(file, { modules: { head }, epoch: 1 });
  const bytes = readFileSync(file);
  writeFileSync(join(dir, 'trunc.ckpt'), bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadCheckpoint(join(dir, 'trunc.ckpt')), /trunc\.ckpt is not a valid safetensors file: .*(truncated)/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0xff;
  writeFileSync(join(dir, 'flip.ckpt'), flipped);
  assert.throws(() => loadCheckpoint(join(dir, 'flip.ckpt')), /data checksum does not match/);
  writeFileSync(join(dir, 'empty.ckpt'), Buffer.alloc(0));
  assert.throws(() => loadCheckpoint(join(dir, 'empty.ckpt')), /fewer than the 8-byte header length/);
  tidy(() => saveSafetensors(join(dir, 'plain.safetensors'), { w: randn([2]) }));
  assert.throws(() => loadCheckpoint(join(dir, 'plain.safetensors')), /is not a deepmetric checkpoint/);
  assert.throws(() => loadCheckpoint(join(dir, 'nope.ckpt')), /nope\.ckpt does not exist/);
  const other = new Linear({ inFeatures: 4, outFeatures: 2 });
  assert.throws(() => loadCheckpoint(file).restore({ modules: { head: other } }), /shape mismatches: weight/);
  head.dispose();
  other.dispose();
  assert.equal(liveTensors(), base);
});

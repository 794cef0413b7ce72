// Damaged and hostile checkpoint files: every one is a clear error naming the file, quickly, with
// bounded memory — never a resumed run that silently trains nothing, never a JS internal.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, runCli, tempDir, rawSafetensors } from './bad-input.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { loadTrainedModel } from '../../src/train/trained-model.js';
import { encodeSafetensors } from '../../src/serialize/safetensors.js';
import { Linear } from '../../src/nn/linear.js';
import { liveTensors, tensor } from '../../src/index.js';

const dir = tempDir('ckpt');

function writeCheckpoint(name: string, epoch: number): string {
  const head = new Linear({ inFeatures: 4, outFeatures: 2 });
  const file = join(dir, name);
  saveCheckpoint(file, { modules: { head }, epoch, history: [{ epoch }], extra: { note: 'x' } });
  head.dispose();
  return file;
}


badInput('checkpoint/header-bit-flip', 'one flipped bit in the stored epoch is caught by the checksum', () => {
  const base = liveTensors();
  const file = writeCheckpoint('flip.ckpt', 2);
  const bytes = readFileSync(file);
  const at = bytes.indexOf('"epoch":"2"');
  assert.ok(at > 0);
  bytes[at + '"epoch":"'.length] ^= 0x01; // "2" → "3"
  writeFileSync(file, bytes);
  assert.throws(() => loadCheckpoint(file), /flip\.ckpt is not a valid safetensors file: its header and data checksum does not match/);
  assert.equal(liveTensors(), base);
});

badInput('checkpoint/checksum-key-removed', 'a checkpoint whose checksum entry was damaged is refused', () => {
  const file = writeCheckpoint('nosum.ckpt', 1);
  const bytes = readFileSync(file);
  const at = bytes.indexOf('deepmetric.file-sha256');
  bytes[at] ^= 0x20; // 'd' → 'D': the key no longer names the checksum
  writeFileSync(file, bytes);
  assert.throws(() => loadCheckpoint(file), /nosum\.ckpt has no checksum/);
});

badInput('checkpoint/dev-zero', 'eval --checkpoint /dev/zero fails at once instead of reading forever', async () => {
  const run = await runCli(['eval', '--checkpoint', '/dev/zero'], { killAfterMs: 30_000 });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cannot read checkpoint \/dev\/zero: it is a character device, not a regular file/);
  assert.ok(run.peakRssMb < 600, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
});

badInput('checkpoint/huge-header-length', 'a header length of 2^62 is refused from the first 8 bytes', () => {
  const file = join(dir, 'huge.ckpt');
  const bytes = Buffer.alloc(64);
  bytes.writeBigUInt64LE(1n << 62n);
  writeFileSync(file, bytes);
  assert.throws(() => loadCheckpoint(file), /huge\.ckpt is not a valid safetensors file: header length \d+ exceeds the file \(64 bytes\)/);
});

badInput('checkpoint/header-not-object', 'a header that is a JSON array or number is a clear error', () => {
  assert.throws(() => loadCheckpoint(rawSafetensors(dir, 'array.ckpt', [1, 2])), /array\.ckpt is not a valid safetensors file: header is an array/);
  assert.throws(() => loadCheckpoint(rawSafetensors(dir, 'number.ckpt', 7)), /number\.ckpt is not a valid safetensors file: header is 7/);
});

badInput('checkpoint/shape-not-a-list', "a tensor shape that is a string gives a message, not 'reduce is not a function'", () => {
  const file = rawSafetensors(dir, 'shape.ckpt', { w: { dtype: 'F32', shape: 'abc', data_offsets: [0, 4] } }, Buffer.alloc(4));
  assert.throws(() => loadCheckpoint(file), (e: Error) => /shape\.ckpt is not a valid safetensors file: tensor 'w' has shape "abc", not a list of sizes/.test(e.message) && !/reduce/.test(e.message));
});

badInput('checkpoint/metadata-not-strings', '__metadata__ holding numbers or objects is refused', () => {
  const file = rawSafetensors(dir, 'meta.ckpt', { __metadata__: { format: 'deepmetric-checkpoint/2', epoch: { evil: true } } });
  assert.throws(() => loadCheckpoint(file), /meta\.ckpt is not a valid safetensors file: __metadata__ is not an object of strings/);
});

badInput('checkpoint/no-rng-state', "a checkpoint without RNG state is refused by name, not with '#handle'", () => {
  const base = liveTensors();
  const w = tensor([1, 2, 3, 4]);
  const file = join(dir, 'norng.ckpt');
  writeFileSync(file, encodeSafetensors({ 'head.weight': w }, { format: 'deepmetric-checkpoint/2', epoch: '1', history: 'null', config: 'null', extra: '{}' }, { checksum: true }));
  w.dispose();
  assert.throws(() => loadCheckpoint(file), (e: Error) => /norng\.ckpt holds no random-number-generator state/.test(e.message) && !/#handle/.test(e.message));
  assert.equal(liveTensors(), base);
});

badInput('checkpoint/hostile-model-spec', 'a model spec that is not an object is reported as unreadable metadata', () => {
  const head = new Linear({ inFeatures: 4, outFeatures: 2 });
  const file = join(dir, 'spec.ckpt');
  saveCheckpoint(file, { modules: { model: head, head }, epoch: 1, extra: { model: 'mobilenet; rm -rf /', head: 42, classes: [] } });
  head.dispose();
  const base = liveTensors();
  assert.throws(() => loadTrainedModel(file), /spec\.ckpt has an unreadable model, head or class list/);
  assert.equal(liveTensors(), base);
});

badInput('checkpoint/negative-epoch', 'an epoch that is not a count is refused', () => {
  const head = new Linear({ inFeatures: 4, outFeatures: 2 });
  const file = join(dir, 'epoch.ckpt');
  saveCheckpoint(file, { modules: { head }, epoch: -3 });
  head.dispose();
  assert.throws(() => loadCheckpoint(file), /epoch\.ckpt has unreadable metadata: epoch "-3" is not a count of epochs/);
});

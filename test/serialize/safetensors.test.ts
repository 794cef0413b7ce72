// safetensors: round trip, an independent reader (Python + numpy, when present), and corrupt files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, loadSafetensors, randn, saveSafetensors, tensor, tidy } from '../../src/index.js';
import { repoRoot } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dm-st-'));

test('save → load round-trips names, dtypes, shapes, values and metadata', () => tidy(() => {
  const tensors = {
    'features.0.weight': randn([4, 3, 3, 3]),
    'fc.bias': tensor([1.5, -2], { dtype: 'float64' }),
    steps: tensor([7], { dtype: 'int64' }),
    mask: tensor([true, false]),
    pixels: tensor(new Uint8Array([0, 128, 255])),
  };
  const file = join(dir, 'a.safetensors');
  saveSafetensors(file, tensors, { epoch: '3' });
  const { tensors: back, metadata } = loadSafetensors(file);
  assert.deepEqual(metadata, { epoch: '3' });
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [k, t] of Object.entries(tensors)) {
    assert.equal(back[k].dtype, t.dtype, k);
    assert.deepEqual(back[k].shape, t.shape, k);
    assert.deepEqual(back[k].toNumbers(), t.toNumbers(), k);
  }
  dispose(back);
}));

test('an independent reader of the format sees the same tensors', { skip: !existsSync('/usr/bin/python3') }, (t) => {
  let probe = '';
  try { probe = execFileSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }); } catch { t.skip('python3 has no numpy'); return; }
  void probe;
  tidy(() => {
    const file = join(dir, 'b.safetensors');
    const w = tensor([[1, 2, 3], [4, 5, 6]]);
    saveSafetensors(file, { w, n: tensor([3], { dtype: 'int64' }) }, { note: 'hi' });
    const out = JSON.parse(execFileSync('/usr/bin/python3', [join(repoRoot, 'scripts', 'read_safetensors.py'), file], { encoding: 'utf8' }));
    assert.deepEqual(out.__metadata__, { note: 'hi' });
    assert.deepEqual(out.w, { dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(out.n, { dtype: 'I64', shape: [1], data: [3] });
  });
});

test('truncated, garbled and missing files are clear errors', () => tidy(() => {
  const file = join(dir, 'c.safetensors');
  saveSafetensors(file, { w: randn([10, 10]) });
  const bytes = readFileSync(file);
  writeFileSync(join(dir, 'trunc.safetensors'), bytes.subarray(0, bytes.length - 17));
  assert.throws(() => loadSafetensors(join(dir, 'trunc.safetensors')), /trunc\.safetensors is not a valid safetensors file: tensor 'w' has data_offsets .* is it truncated\?/);
  writeFileSync(join(dir, 'short.safetensors'), bytes.subarray(0, 30));
  assert.throws(() => loadSafetensors(join(dir, 'short.safetensors')), /header length \d+ exceeds the file/);
  const garbled = Buffer.from(bytes);
  garbled[10] = 0x00;
  writeFileSync(join(dir, 'garbled.safetensors'), garbled);
  assert.throws(() => loadSafetensors(join(dir, 'garbled.safetensors')), /header is not JSON/);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /cannot read .*missing\.safetensors/);
}));

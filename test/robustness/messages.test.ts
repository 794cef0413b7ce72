// Careless input that used to get a message naming no flag, no file or no field: each now says what
// to change. (The file formats' own messages are in weights.test.ts, detector.test.ts and io.test.ts.)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before } from 'node:test';
import { badInput, caseId, runCli, tempDir } from './bad-input.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { Linear } from '../../src/nn/linear.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { decodeSafetensors, saveSafetensors } from '../../src/serialize/safetensors.js';
import { tensor } from '../../src/tensor/creation.js';

const root = tempDir('messages');
const data = join(root, 'data');

before(async () => {
  await writeSyntheticFolder(data, { train: 24, test: 4 });
});

for (const [id, command] of [[caseId('messages/batch-size-over-data-train'), 'train'], [caseId('messages/batch-size-over-data-compare'), 'compare']]) {
  badInput(id, `${command} --batch-size 128 on 72 training images names the flag and the count`, async () => {
    const r = await runCli([command, '--data', data, '--backbone', 'convnet', '--epochs', '1', '--batch-size', '128', '--cache-dir', join(root, 'cache'), '--out', join(root, command)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Expected --batch-size of at most the 72 training images but received 128/);
  });
}

badInput('messages/batch-size-over-data-anomaly', 'anomaly --batch-size 512 on a few dozen training images names the flag and the count', async () => {
  const r = await runCli(['anomaly', '--data', data, '--normal', 'red', '--anomaly', 'blue', '--heads', 'softmax', '--score', 'knn', '--backbone', 'convnet', '--epochs', '1',
    '--batch-size', '512', '--cache-dir', join(root, 'cache'), '--out', join(root, 'anomaly')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Expected --batch-size of at most the \d+ training images but received 512/);
});

badInput('messages/checkpoint-bigint', 'a checkpoint config holding a BigInt names the field instead of "Do not know how to serialize a BigInt"', () => {
  const m = new Linear({ inFeatures: 2, outFeatures: 2 });
  try {
    assert.throws(() => saveCheckpoint(join(root, 'big.ckpt'), { modules: { m }, epoch: 1, config: { data: { seed: 5n } } }),
      /cannot save the checkpoint's config as JSON: field data\.seed is a BigInt \(5n\)/);
  } finally {
    m.dispose();
  }
});

badInput('messages/checkpoint-circular', 'a circular checkpoint history names the field instead of "Converting circular structure to JSON"', () => {
  const m = new Linear({ inFeatures: 2, outFeatures: 2 });
  const history: Record<string, unknown> = { epochs: [] };
  (history.epochs as unknown[]).push({ parent: history });
  try {
    assert.throws(() => saveCheckpoint(join(root, 'loop.ckpt'), { modules: { m }, epoch: 1, history }),
      /cannot save the checkpoint's history as JSON: field epochs\[0\]\.parent refers back to an object that contains it/);
  } finally {
    m.dispose();
  }
});

/** A safetensors buffer whose header has `field` of tensor 't' nested 100,000 arrays deep. */
function deepHeader(field: 'shape' | 'dtype' | 'data_offsets'): Buffer {
  const deep = `${'['.repeat(100_000)}0${']'.repeat(100_000)}`;
  const header = JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } })
    .replace(field === 'shape' ? '[1]' : field === 'dtype' ? '"F32"' : '[0,4]', deep);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([length, Buffer.from(header), Buffer.alloc(4)]);
}

for (const [id, field] of [[caseId('messages/safetensors-deep-shape'), 'shape'], [caseId('messages/safetensors-deep-dtype'), 'dtype'],
  [caseId('messages/safetensors-deep-offsets'), 'data_offsets']] as const) {
  badInput(id, `a safetensors ${field} nested 100,000 arrays deep is refused naming the file and tensor, not "Maximum call stack size exceeded"`, () => {
    assert.throws(() => decodeSafetensors(deepHeader(field), 'deep.safetensors'), /^Error: safetensors: deep\.safetensors is not a valid safetensors file: tensor 't' has /);
  });
}

badInput('messages/checkpoint-restore-names-file', 'a checkpoint whose RNG state libtorch refuses names the file when restored', () => {
  const file = join(root, 'bad-rng.ckpt');
  const m = new Linear({ inFeatures: 2, outFeatures: 2 });
  const weight = m.stateDict().weight;
  const bias = m.stateDict().bias;
  const rng = tensor([1, 2, 3], { dtype: 'uint8' });
  try {
    saveSafetensors(file, { 'm.weight': weight, 'm.bias': bias, __rng__: rng }, { format: 'deepmetric-checkpoint/2', epoch: '1', history: 'null', config: 'null', extra: '{}', optimizer: '' }, { checksum: true });
    const loaded = loadCheckpoint(file);
    assert.throws(() => loaded.restore({ modules: { m } }), (e: Error) => e.message.startsWith(`checkpoint: ${file} cannot be restored: `));
  } finally {
    rng.dispose();
    m.dispose();
  }
});

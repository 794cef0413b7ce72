// Careless input that used to get a message naming no flag, no file or no field: each now says what
// to change. (The file formats' own messages are in weights.test.ts, detector.test.ts and io.test.ts.)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before } from 'node:test';
import { badInput, runCli, tempDir } from './bad-input.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';

const root = tempDir('messages');
const data = join(root, 'data');

before(async () => {
  await writeSyntheticFolder(data, { train: 24, test: 4 });
});

for (const command of ['train', 'compare']) {
  badInput(`messages/batch-size-over-data-${command}`, `${command} --batch-size 128 on 72 training images names the flag and the count`, async () => {
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

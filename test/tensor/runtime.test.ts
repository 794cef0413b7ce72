// Threads and runtime information.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getNumThreads, setNumThreads, torchVersion, parallelInfo } from '../../src/index.js';

const indexJs = fileURLToPath(new URL('../../src/index.js', import.meta.url));

test('intra-op threads default to the available cores and can be set', () => {
  if (process.env.DEEPMETRIC_NUM_THREADS === undefined) assert.equal(getNumThreads(), availableParallelism());
  const before = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(before);
  assert.throws(() => setNumThreads(0), /Expected an integer between 1 and 1024 for threads but received 0/);
  assert.match(torchVersion(), /^\d+\.\d+/);
  assert.match(parallelInfo(), /at::get_num_threads\(\) : \d+/);
});

test('DEEPMETRIC_NUM_THREADS overrides the default at load', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    `import { getNumThreads } from ${JSON.stringify(indexJs)}; console.log(getNumThreads());`],
  { env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' }, encoding: 'utf8' });
  assert.equal(out.trim(), '1');
});

// Two runs writing one output folder: the second is refused while the first runs, naming it; a
// lock left behind by a run that no longer exists is replaced.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { badInput, cliPath, runCli, tempDir } from './bad-input.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { lockOutputFolder } from '../../src/util/output-lock.js';

const root = tempDir('lock');
const data = join(root, 'data');
const cache = join(root, 'cache');
const ready = writeSyntheticFolder(data, { train: 12, test: 4 }, 12);
// Generated in the background; a filtered run may end first (then the folder is gone): not an unhandled error.
ready.catch(() => {});
const common = ['--data', data, '--cache-dir', cache, '--backbone', 'convnet', '--batch-size', '8'];

badInput('out/second-writer', 'a second run with the same --out is refused while the first is running, naming its pid', async () => {
  await ready;
  const out = join(root, 'locked');
  const args = ['train', '--head', 'softmax', ...common, '--epochs', '20', '--out', out];
  const first = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' } });
  let stderr = '';
  const firstDone = new Promise<number | null>((resolve) => first.on('close', resolve));
  await new Promise<void>((resolve) => first.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/softmax epoch 1\/20/.test(stderr)) resolve();
  }));
  try {
    const second = await runCli(args);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`locked is in use by another deepmetric run \\(pid ${first.pid} on .*deepmetric \\w+ --head softmax.*\\); wait for it to finish or choose another --out`));
  } finally {
    first.kill('SIGINT');
  }
  assert.equal(await firstDone, 130, stderr);
  assert.ok(!existsSync(join(out, '.deepmetric.lock')), 'the first run released its lock on exit');
}, { timeout: 60_000 });

badInput('out/stale-lock', 'a lock left by a run that no longer exists is replaced with a warning', () => {
  const out = join(root, 'stale');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  lockOutputFolder(out).release();
  writeFileSync(join(out, '.deepmetric.lock'), JSON.stringify({ pid: dead, host: hostname(), started: '2020-01-01T00:00:00Z', command: 'deepmetric train' }));
  const warnings: string[] = [];
  const lock = lockOutputFolder(out, { warn: (w) => warnings.push(w) });
  assert.match(warnings.join('\n'), new RegExp(`removed a stale lock of pid ${dead}, which is no longer running`));
  assert.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid);
  lock.release();
  assert.ok(!existsSync(lock.file));
});

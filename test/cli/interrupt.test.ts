// Ctrl-C during training: the step finishes, a checkpoint is saved, and --resume completes the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticFolder } from './synthetic-folder.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(args: string[], interruptOn?: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (interruptOn && !sent && interruptOn.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stdout.resume();
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('SIGINT saves a checkpoint mid-run and --resume finishes it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-sigint-'));
  await writeSyntheticFolder(join(root, 'data'), { train: 40, test: 4 });
  const out = join(root, 'run');
  const args = ['train', '--head', 'softmax', '--data', join(root, 'data'), '--cache-dir', join(root, 'cache'), '--backbone', 'convnet',
    '--epochs', '3', '--batch-size', '8', '--lr', '0.003', '--out', out];
  const first = await run(args, /epoch 2\/3/);
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /interrupt received/);
  assert.match(first.stderr, /--resume to continue/);
  assert.ok(existsSync(join(out, 'checkpoints', 'softmax', 'last.ckpt')));
  const partial = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.ok(partial.heads[0].history.length < 3, 'the interrupted run did not finish');
  const second = await run([...args, '--resume']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resumed from .*last\.ckpt at epoch \d+, step \d+/);
  const done = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(done.heads[0].history.map((e: { epoch: number }) => e.epoch), [1, 2, 3]);
});

// `deepmetric serve` as a real child process: it listens on 127.0.0.1 (port 0: any free port,
// printed), and on SIGTERM with requests in flight it finishes them all (200) and exits 0, promptly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { colourSet, encodeImage, RED, tinyDetector } from './tiny-detector.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dm-serve-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('serve: SIGTERM with requests in flight finishes them, then exits 0', async () => {
  const detector = tinyDetector('knn');
  const path = join(dir, 'detector.dmdet');
  await detector.save(path);
  detector.dispose();
  const png = new Uint8Array(await encodeImage(colourSet(1, RED, 4, 'q'), 0));

  // A long batch wait keeps the requests in flight when the signal arrives.
  const child = spawn(process.execPath, [cli, 'serve', '--detector', path, '--port', '0', '--batch-wait-ms', '700', '--threads', '1'], {
    env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`serve exited before listening: ${stderr}`)));
    });
    const inFlight = Array.from({ length: 4 }, () => fetch(`${url}/v1/score`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } }));
    for (let i = 0; i < 100; i++) {
      const health = await (await fetch(`${url}/healthz`)).json() as { in_flight: number };
      if (health.in_flight === 4) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const signalled = performance.now();
    child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200], 'every request in flight was answered');
    for (const a of answers) assert.equal(((await a.json()) as { results: unknown[] }).results.length, 1);
    assert.equal(await exited, 0, stderr);
    // Kept-alive client connections do not hold the shutdown for the keep-alive timeout (72 s).
    assert.ok(performance.now() - signalled < 15_000, `exited ${Math.round(performance.now() - signalled)} ms after SIGTERM`);
    assert.match(stderr, /SIGTERM: finishing the requests in flight…\n.*stopped/s);
  } finally {
    child.kill('SIGKILL');
  }
});

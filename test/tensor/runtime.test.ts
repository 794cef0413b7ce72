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

test('freed activation memory is reused, not faulted in again, unless DEEPMETRIC_MALLOC=default', () => {
  // 40 rounds of twenty 8 MiB tensors made and freed, as a training step does: with glibc's
  // defaults each round can return them to the kernel and fault ~40,000 pages back in.
  const script = `import { tidy, ones, mallocInfo } from ${JSON.stringify(indexJs)};
    import { readFileSync } from 'node:fs';
    const faults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
    const round = () => tidy(() => { for (let i = 0; i < 20; i++) ones([2 << 20]); });
    round();
    const before = faults();
    for (let r = 0; r < 40; r++) round();
    console.log(JSON.stringify({ info: mallocInfo(), perRound: (faults() - before) / 40 }));`;
  const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script],
    { env: { ...process.env, ...env }, encoding: 'utf8' }).trim());
  const tuned = run({});
  const plain = run({ DEEPMETRIC_MALLOC: 'default' });
  assert.match(tuned.info, /mmap threshold 32 MiB, trim threshold 256 MiB/);
  assert.match(plain.info, /DEEPMETRIC_MALLOC=default/);
  const pagesPerRound = (20 * 8 * 2 ** 20) / Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }));
  assert.ok(tuned.perRound < 0.05 * pagesPerRound, `tuned: ${tuned.perRound} page faults per round`);
  assert.ok(plain.perRound > 0.5 * pagesPerRound, `default: ${plain.perRound} page faults per round`);
});

test('OpenBLAS worker threads sleep after a product instead of spinning on the cores', { skip: availableParallelism() < 2 && 'one core: OpenBLAS runs no worker threads' }, (t) => {
  // CPU time the process burns in a 60 ms wait right after three 512x512 products: OpenBLAS's
  // default keeps a worker spinning through all of it; the setting made at load sleeps at once.
  const script = `import { randn, tidy } from ${JSON.stringify(indexJs)};
    tidy(() => { const a = randn([512, 512]); for (let i = 0; i < 3; i++) a.matmul(a); });
    const before = process.cpuUsage();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60);
    const used = process.cpuUsage(before);
    const pthreadBlas = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').includes('openblas-pthread');
    console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, timeout: process.env.OPENBLAS_THREAD_TIMEOUT, pthreadBlas }));`;
  const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script],
    { env: { ...process.env, ...env }, encoding: 'utf8' }).trim());
  const ours = run({});
  if (!ours.pthreadBlas) {
    t.skip('libtorch does not use the pthread build of OpenBLAS here');
    return;
  }
  const openblasDefault = run({ OPENBLAS_THREAD_TIMEOUT: '28' });
  assert.equal(ours.timeout, '16');
  assert.ok(ours.cpuMs < 20, `${ours.cpuMs} ms of CPU in a 60 ms wait`);
  assert.ok(openblasDefault.cpuMs > 30, `OpenBLAS's default: ${openblasDefault.cpuMs} ms of CPU in a 60 ms wait`);
});

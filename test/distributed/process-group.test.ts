// c10d process groups between real processes on 127.0.0.1: every collective against values
// recomputed here, over a rendezvous file and over TCP; and the faults: an unreachable master, a
// port in use, mismatched world sizes or settings, and a rank that dies, each a clear error in
// bounded time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { distributedSupport } from '../../src/distributed/process-group.js';
import { fileRendezvous, freePort, runRanks, scriptPath, startRank, tcpRendezvous, type RankExit } from './spawn-ranks.js';

const worker = scriptPath('group-worker');
const skip = distributedSupport().gloo ? false : distributedSupport().reason;

function expectOps(exits: RankExit[]): void {
  const W = exits.length;
  const ranks = Array.from({ length: W }, (_, r) => r);
  const total = (f: (r: number) => number): number => ranks.reduce((s, r) => s + f(r), 0);
  for (const e of exits) {
    assert.equal(e.code, 0, `rank ${e.rank} failed: ${e.stderr}`);
    const got = JSON.parse(e.stdout.trim().split('\n').at(-1)!);
    assert.equal(got.rank, e.rank);
    assert.equal(got.worldSize, W);
    assert.deepEqual(got.sum, [total((r) => r + 1), total((r) => 10 * (r + 1)), total((r) => -r)]);
    assert.deepEqual(got.sumInt, [total((r) => r + 1), 7 * W]);
    assert.deepEqual(got.avg, [total((r) => r + 1) / W, total((r) => 4 * r) / W]);
    assert.deepEqual(got.max, [W - 1, 0]);
    assert.deepEqual(got.bcast, [10, 11, 1, 1, 1, 1], 'rank 1 was the root');
    assert.deepEqual(got.numbers, [total((r) => r), W, 0.5 * W]);
    // d/dw sum(w * (r+1) * (i+1)) = (r+1)(i+1), averaged over ranks.
    const meanCoef = total((r) => r + 1) / W;
    got.gradW.forEach((g: number, i: number) => assert.ok(Math.abs(g - meanCoef * (i + 1)) < 1e-5, `gradW[${i}] = ${g}`));
    assert.deepEqual(got.gradV, [meanCoef, meanCoef, meanCoef]);
    assert.equal(got.unusedGrad, true, 'a parameter without a gradient keeps none');
    assert.deepEqual(got.flags, [1], 'flags are summed, not averaged');
    assert.equal(got.leaked, 0, 'no tensor leaked');
  }
}

test('two ranks over a rendezvous file: allreduce, broadcast, sums and gradient averaging', { skip }, async () => {
  expectOps(await runRanks(worker, ['ops'], 2, fileRendezvous()));
});

test('three ranks over TCP (rank 0 hosts the store)', { skip }, async () => {
  expectOps(await runRanks(worker, ['ops'], 3, tcpRendezvous(await freePort())));
});

test('a rank that dies makes the other fail within the timeout, naming it', { skip }, async () => {
  const [r0, r1] = await runRanks(worker, ['die'], 2, { ...fileRendezvous(), TEST_TIMEOUT: '5' });
  assert.equal(r1.signal, 'SIGKILL');
  assert.equal(r0.code, 1);
  assert.match(r0.stderr, /DistributedError: .*failed on rank 0: lost rank 1/);
  assert.ok(r0.seconds < 5 + 4, `rank 0 stopped after ${r0.seconds.toFixed(1)} s`);
});

test('an unreachable master is a clear error within the timeout', { skip }, async () => {
  const e = await startRank(worker, ['ops'], 1, 2, { ...tcpRendezvous(await freePort()), TEST_TIMEOUT: '1' }).done;
  assert.equal(e.code, 1);
  assert.match(e.stderr, /rank 1 could not reach the master at 127\.0\.0\.1:\d+ within 1 s/);
  assert.ok(e.seconds < 1 + 4, `gave up after ${e.seconds.toFixed(1)} s`);
});

test('a port in use is a clear error for rank 0', { skip }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const e = await startRank(worker, ['ops'], 0, 2, { ...tcpRendezvous(port), TEST_TIMEOUT: '2' }).done;
    assert.equal(e.code, 1);
    assert.match(e.stderr, new RegExp(`rank 0 could not host the rendezvous store on port ${port}: it is in use`));
  } finally {
    server.close();
  }
});

test('mismatched world sizes and settings are refused by both sides', { skip }, async () => {
  const sizes = await runRanks(worker, ['ops'], 2, { ...fileRendezvous(), TEST_TIMEOUT: '5' }, (r) => (r === 1 ? { WORLD_SIZE: '3' } : {}));
  for (const e of sizes) {
    assert.equal(e.code, 1, `rank ${e.rank} must fail`);
    assert.match(e.stderr, /the ranks disagree: rank \d has WORLD_SIZE \d but rank \d has \d/);
  }
  const settings = await runRanks(worker, ['ops'], 2, { ...fileRendezvous(), TEST_TIMEOUT: '5' }, (r) => ({ TEST_FINGERPRINT: `batch ${64 * (r + 1)}` }));
  for (const e of settings) {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /the ranks disagree: rank \d was started with other settings/);
  }
});

// Data-parallel training through the real trainer: 2 ranks × 64 images per step reach the same
// parameters as 1 process × 128 (a network without BatchNorm, so the shards' gradients average
// to the full batch's), and every rank ends with identical parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributedSupport } from '../../src/distributed/process-group.js';
import { loadSafetensors } from '../../src/serialize/safetensors.js';
import { dispose } from '../../src/index.js';
import { fileRendezvous, runRanks, scriptPath, startRank } from './spawn-ranks.js';

const worker = scriptPath('train-worker');
const skip = distributedSupport().gloo ? false : distributedSupport().reason;

function params(path: string): Record<string, number[]> {
  const { tensors } = loadSafetensors(path);
  const out = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.toNumbers()]));
  dispose(tensors);
  return out;
}

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  let worst = 0;
  for (const k of Object.keys(a)) a[k].forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[k][i]))));
  return worst;
}

test('2 ranks × batch 64 = 1 process × batch 128 after 5 steps (1e-5), and the ranks agree exactly', { skip }, async (t) => {
  const dist = mkdtempSync(join(tmpdir(), 'dm-dp-'));
  const single = mkdtempSync(join(tmpdir(), 'dm-dp1-'));
  const [ranks, alone] = await Promise.all([
    runRanks(worker, [dist, '128', '5'], 2, fileRendezvous()),
    startRank(worker, [single, '128', '5'], 0, 1, { RANK: '', WORLD_SIZE: '' }).done,
  ]);
  for (const e of [...ranks, alone]) assert.equal(e.code, 0, `rank ${e.rank}: ${e.stderr}`);
  const r0 = params(join(dist, 'rank0.safetensors'));
  const r1 = params(join(dist, 'rank1.safetensors'));
  const ref = params(join(single, 'rank0.safetensors'));
  assert.equal(maxDiff(r0, r1), 0, 'every rank holds identical parameters');
  const d = maxDiff(r0, ref);
  t.diagnostic(`max |Δ| distributed vs one process: ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `distributed vs one process: max |Δ| = ${d}`);
  // The run changed the weights (the comparison is not between two untouched initialisations).
  const init = mkdtempSync(join(tmpdir(), 'dm-dp0-'));
  const untouched = await startRank(worker, [init, '128', '0'], 0, 1, { RANK: '', WORLD_SIZE: '' }).done;
  assert.equal(untouched.code, 0, untouched.stderr);
  assert.ok(maxDiff(ref, params(join(init, 'rank0.safetensors'))) > 1e-3, 'five steps moved the parameters');
});

test('after a full distributed run (validation on rank 0, epoch ends) every rank holds identical parameters', { skip }, async () => {
  const dist = mkdtempSync(join(tmpdir(), 'dm-dp-full-'));
  const ranks = await runRanks(worker, [dist, '96', 'all'], 3, fileRendezvous());
  for (const e of ranks) assert.equal(e.code, 0, `rank ${e.rank}: ${e.stderr}`);
  const r0 = params(join(dist, 'rank0.safetensors'));
  assert.equal(maxDiff(r0, params(join(dist, 'rank1.safetensors'))), 0);
  assert.equal(maxDiff(r0, params(join(dist, 'rank2.safetensors'))), 0);
});

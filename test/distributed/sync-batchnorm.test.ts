// --sync-bn: BatchNorm over the global batch. Two ranks with half a batch each give the outputs,
// running statistics and γ/β gradients of one process with the whole batch; their input gradients
// follow the documented approximation (global μ, σ; the rank's own means of dy and dy·x̂), which
// with one rank is exactly BatchNorm's gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributedSupport } from '../../src/distributed/process-group.js';
import { syncedBatchNorm } from '../../src/nn/synced-batchnorm.js';
import { batchNorm } from '../../src/nn/functional.js';
import { liveTensors, manualSeed, randn, tensor, tidy, ones, zeros } from '../../src/index.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { fileRendezvous, runRanks, scriptPath, startRank } from './spawn-ranks.js';

const worker = scriptPath('sync-bn-worker');
const skip = distributedSupport().gloo ? false : distributedSupport().reason;
const EPS = 1e-5;
const C = 3;
const HW = 25;

function close(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (const [i, v] of a.entries()) assert.ok(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`);
}

interface Out { x: number[]; dy: number[]; y: number[]; dx: number[]; dWeight: number[]; dBias: number[]; runningMean: number[]; runningVar: number[] }

test('one rank: the synced forward and every gradient equal BatchNorm\'s', () => {
  const base = liveTensors();
  tidy(() => {
    manualSeed(1);
    const x = randn([3, C, 4, 4]).mul(3).add(5);
    const r = randn([3, C, 4, 4]);
    const run = (synced: boolean) => {
      const xi = x.detach().requiresGrad_();
      const w = tensor([1.5, 0.5, 2]).requiresGrad_();
      const b = tensor([0.1, -0.2, 0.3]).requiresGrad_();
      const rm = zeros([C]);
      const rv = ones([C]);
      const y = synced ? syncedBatchNorm(xi, { weight: w, bias: b, runningMean: rm, runningVar: rv, momentum: 0.1, eps: EPS }, () => {})
        : batchNorm(xi, { weight: w, bias: b, runningMean: rm, runningVar: rv, training: true, momentum: 0.1, eps: EPS });
      y.mul(r).sum().backward();
      return [y, xi.grad!, w.grad!, b.grad!, rm, rv].map((t) => t.toNumbers());
    };
    const [a, ref] = [run(true), run(false)];
    for (const [i, name] of ['y', 'dx', 'dWeight', 'dBias', 'runningMean', 'runningVar'].entries()) close(a[i], ref[i], 1e-4, name);
  });
  assert.equal(liveTensors(), base);
});

test('two ranks: outputs, running statistics and γ/β gradients of the whole batch; input gradients as documented', { skip }, async () => {
  const ranks = await runRanks(worker, [], 2, fileRendezvous());
  for (const e of ranks) assert.equal(e.code, 0, `rank ${e.rank}: ${e.stderr}`);
  const alone = await startRank(worker, [], 0, 1, { RANK: '', WORLD_SIZE: '' }).done;
  assert.equal(alone.code, 0, alone.stderr);
  const [r0, r1] = ranks.map((e) => JSON.parse(e.stdout) as Out);
  const ref = JSON.parse(alone.stdout) as Out;
  close([...r0.y, ...r1.y], ref.y, 1e-5, 'y');
  for (const r of [r0, r1]) {
    close(r.runningMean, ref.runningMean, 1e-6, 'running mean');
    close(r.runningVar, ref.runningVar, 1e-6, 'running var');
  }
  close(r0.dWeight.map((v, i) => v + r1.dWeight[i]), ref.dWeight, 1e-4, 'Σ dγ');
  close(r0.dBias.map((v, i) => v + r1.dBias[i]), ref.dBias, 1e-4, 'Σ dβ');
  // The whole batch's statistics, from the reference's inputs.
  const at = (n: number, c: number, p: number): number => (n * C + c) * HW + p;
  const gamma = [1.5, 0.5, 2];
  for (const r of [r0, r1]) {
    const expected = new Array<number>(r.x.length).fill(0);
    for (let c = 0; c < C; c++) {
      let s = 0;
      let s2 = 0;
      for (let n = 0; n < 4; n++) for (let p = 0; p < HW; p++) { s += ref.x[at(n, c, p)]; s2 += ref.x[at(n, c, p)] ** 2; }
      const mu = s / (4 * HW);
      const inv = 1 / Math.sqrt(s2 / (4 * HW) - mu * mu + EPS);
      let mdy = 0;
      let mdyx = 0;
      for (let n = 0; n < 2; n++) for (let p = 0; p < HW; p++) { const i = at(n, c, p); mdy += r.dy[i]; mdyx += r.dy[i] * (r.x[i] - mu) * inv; }
      mdy /= 2 * HW;
      mdyx /= 2 * HW;
      for (let n = 0; n < 2; n++) for (let p = 0; p < HW; p++) { const i = at(n, c, p); expected[i] = gamma[c] * inv * (r.dy[i] - mdy - (r.x[i] - mu) * inv * mdyx); }
    }
    close(r.dx, expected, 1e-4, 'dx');
  }
});

test('train --nproc 2 --sync-bn trains a BatchNorm network end to end', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-sync-bn-'));
  await writeSyntheticFolder(join(root, 'data'), { train: 24, test: 8 });
  const out = join(root, 'out');
  const run = await startRank(scriptPath('cli'), ['train', '--head', 'softmax', '--data', join(root, 'data'), '--cache-dir', join(root, 'cache'), '--backbone', 'convnet',
    '--batch-size', '12', '--lr', '0.003', '--epochs', '2', '--nproc', '2', '--sync-bn', '--timeout', '10', '--out', out], 0, 1, { RANK: '', WORLD_SIZE: '' }).done;
  assert.equal(run.code, 0, run.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(results.heads[0].history.length, 2);
  assert.ok(results.heads[0].best_val_acc > 0.5, 'it learned the colours');
});

// Parameter groups with learning-rate multipliers: each group steps exactly as a plain optimizer at
// lr × mult would (SGD: by hand; Adam: against a separate Adam), the base lr setter scales every
// group, and the grouped state saves and restores for exact resumption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, type Optimizer, type Tensor, dispose, keep, liveTensors, tensor, tidy } from '../../src/index.js';
import { ParamGroupsOptimizer } from '../../src/optim/param-groups.js';

const C = [0.5, -1.5, 2.0];

function step(opt: Optimizer, params: Tensor[]): void {
  tidy(() => {
    opt.zeroGrad();
    const c = tensor(C);
    params.reduce((acc: Tensor | null, p) => { const l = p.mul(c).pow(2).sum(); return acc ? acc.add(l) : l; }, null)!.backward();
    opt.step();
  });
}

const param = (v: number[]): Tensor => keep(tensor(v).requiresGrad_(true));

test('SGD groups move by lr × mult × grad, and setting lr scales every group', () => {
  const base = liveTensors();
  const a = param([1, 2, 3]);
  const b = param([1, 2, 3]);
  const opt = new ParamGroupsOptimizer({ name: 'sgd', lr: 0.1 }, [{ params: [a] }, { params: [b], lrMult: 0.1 }]);
  const grad = (p: number[]) => p.map((v, i) => 2 * C[i] * C[i] * v);
  let ea = a.toNumbers(), eb = b.toNumbers();
  step(opt, [a, b]);
  ea = ea.map((v, i) => v - 0.1 * grad(ea)[i]);
  eb = eb.map((v, i) => v - 0.01 * grad(eb)[i]);
  a.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - ea[i]) < 1e-6, `a[${i}] ${v} vs ${ea[i]}`));
  b.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - eb[i]) < 1e-6, `b[${i}] ${v} vs ${eb[i]}`));
  opt.lr = 0.2;
  assert.equal(opt.lr, 0.2);
  const ga = grad(a.toNumbers()), gb = grad(b.toNumbers());
  ea = a.toNumbers().map((v, i) => v - 0.2 * ga[i]);
  eb = b.toNumbers().map((v, i) => v - 0.02 * gb[i]);
  step(opt, [a, b]);
  a.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - ea[i]) < 1e-6));
  b.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - eb[i]) < 1e-6));
  opt.dispose();
  dispose([a, b]);
  assert.equal(liveTensors(), base);
});

test('Adam groups equal separate Adams at lr × mult, and the grouped state resumes exactly', () => {
  const base = liveTensors();
  const [a, b, ra, rb] = [param([1, 2, 3]), param([-1, 0.5, 2]), param([1, 2, 3]), param([-1, 0.5, 2])];
  const grouped = new ParamGroupsOptimizer({ name: 'adam', lr: 0.05, amsgrad: true }, [{ params: [a] }, { params: [b], lrMult: 0.3 }]);
  const refA = new Adam([ra], { lr: 0.05, amsgrad: true });
  const refB = new Adam([rb], { lr: 0.015, amsgrad: true });
  for (let i = 0; i < 3; i++) {
    step(grouped, [a, b]);
    step(refA, [ra]);
    step(refB, [rb]);
  }
  assert.deepEqual(a.toNumbers(), ra.toNumbers());
  assert.deepEqual(b.toNumbers(), rb.toNumbers());

  // Save, continue two steps; restore copies of the parameters and the state into a fresh optimizer: same result.
  const state = grouped.stateDict();
  const [ca, cb] = [param(a.toNumbers()), param(b.toNumbers())];
  step(grouped, [a, b]);
  step(grouped, [a, b]);
  const resumed = new ParamGroupsOptimizer({ name: 'adam', lr: 0.05, amsgrad: true }, [{ params: [ca] }, { params: [cb], lrMult: 0.3 }]);
  resumed.loadStateDict(state);
  step(resumed, [ca, cb]);
  step(resumed, [ca, cb]);
  assert.deepEqual(ca.toNumbers(), a.toNumbers());
  assert.deepEqual(cb.toNumbers(), b.toNumbers());

  assert.throws(() => resumed.loadStateDict(refA.stateDict()), /Expected the state of an optimizer with parameter groups/);
  assert.throws(() => new ParamGroupsOptimizer({ name: 'sgd', lr: 0.1 }, [{ params: [a], lrMult: -1 }]), /Expected a finite lrMult ≥ 0 for parameter group 0 but received -1/);
  for (const o of [grouped, refA, refB, resumed]) o.dispose();
  dispose([a, b, ra, rb, ca, cb]);
  assert.equal(liveTensors(), base);
});

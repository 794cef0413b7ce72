// libtorch's optimizers against PyTorch trajectories, and state save/load for exact resumption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, SGD, type Optimizer, type Tensor, tidy, tensor } from '../../src/index.js';
import { assertClose, decode, loadFixtures } from '../helpers.js';

const fixtures = loadFixtures();

function runSteps(w: Tensor, c: Tensor, opt: Optimizer, steps: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      opt.zeroGrad();
      w.mul(c).sub(1).pow(2).add(w.pow(3)).sum().backward();
      opt.step();
    });
    out.push(w.toNumbers());
  }
  return out;
}

const makers: Record<string, (p: Tensor[], o: any) => Optimizer> = {
  optim_adam_amsgrad: (p, o) => new Adam(p, { lr: o.lr, amsgrad: o.amsgrad, weightDecay: o.weightDecay }),
  optim_adamw: (p, o) => new AdamW(p, { lr: o.lr, weightDecay: o.weightDecay }),
  optim_sgd_nesterov: (p, o) => new SGD(p, { lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay }),
};

for (const [name, make] of Object.entries(makers)) {
  test(`${name} follows PyTorch's trajectory`, () => {
    const c = fixtures.get(name)!;
    const w = decode(c.inputs.w0).requiresGrad_();
    const k = decode(c.inputs.c);
    const opt = make([w], c.opts);
    const traj = runSteps(w, k, opt, 5);
    assertClose(traj.flat(), c.outputs.trajectory, { atol: 1e-10, rtol: 1e-9, what: name });
    opt.dispose();
    w.dispose();
    k.dispose();
  });
}

test('saving and loading optimizer state resumes exactly', () => {
  const c = tensor([1, 2, -0.5, 3], { dtype: 'float64' });
  const fresh = (): Tensor => tensor([0.5, -1, 2, 0.1], { dtype: 'float64', requiresGrad: true });
  const w1 = fresh();
  const o1 = new Adam([w1], { lr: 0.05, amsgrad: true });
  const straight = runSteps(w1, c, o1, 6);

  const w2 = fresh();
  const o2 = new Adam([w2], { lr: 0.05, amsgrad: true });
  runSteps(w2, c, o2, 3);
  const saved = o2.stateDict();
  const w3 = tensor(w2.toNumbers(), { dtype: 'float64', requiresGrad: true });
  const o3 = new Adam([w3], { lr: 0.05, amsgrad: true });
  o3.loadStateDict(saved);
  const resumed = runSteps(w3, c, o3, 3);
  assert.deepEqual(resumed, straight.slice(3));
  assert.throws(() => o3.loadStateDict(Buffer.from('garbage')), /optimizer state is not a valid safetensors file/);
  assert.throws(() => o3.loadStateDict(Buffer.from('PK\x03\x04 libtorch archive')), /libtorch's archive format.*no longer read/);
  const wrongShape = new Adam([tensor([1, 2], { dtype: 'float64', requiresGrad: true })], { lr: 0.05, amsgrad: true });
  assert.throws(() => wrongShape.loadStateDict(saved), /optimizerLoadStateTensors: exp_avg of parameter 0 does not match the parameter's shape and dtype/);
  const sgd = new SGD([tensor([0, 0, 0, 0], { dtype: 'float64', requiresGrad: true })], { lr: 0.05, momentum: 0.9 });
  assert.throws(() => sgd.loadStateDict(saved), /it is the state of an adam optimizer, not sgd/);
  for (const o of [o1, o2, o3, wrongShape, sgd]) o.dispose();
  for (const t of [w1, w2, w3, c]) t.dispose();
});

test('the learning rate can change between steps', () => {
  const w = tensor([1], { requiresGrad: true });
  const opt = new SGD([w], { lr: 0.1 });
  tidy(() => { w.mul(2).sum().backward(); opt.step(); });
  assertClose(w.toNumbers(), [0.8]);
  opt.lr = 0.5;
  assert.equal(opt.lr, 0.5);
  tidy(() => { opt.zeroGrad(); w.mul(2).sum().backward(); opt.step(); });
  assertClose(w.toNumbers(), [-0.2]);
  assert.throws(() => { opt.lr = -1; }, /Expected a finite lr ≥ 0 but received -1/);
  assert.throws(() => new Adam([tensor([1])]), /Expected parameter 0 to be a leaf tensor with requiresGrad/);
  opt.dispose();
  w.dispose();
});

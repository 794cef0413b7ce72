// A short engine demo: fits a small conv net to a synthetic task with libtorch from TypeScript.
import { Adam, F, getNumThreads, keep, liveTensors, manualSeed, randint, randn, tensor, tidy, torchVersion, type Tensor } from '../src/index.js';

manualSeed(0);
console.log(`libtorch ${torchVersion()}, ${getNumThreads()} threads`);
// Task: is the mean of channel 0 brighter than channel 1's?
const makeBatch = (n: number): { x: Tensor; y: Tensor } => tidy(() => {
  const y = randint(0, 2, [n]);
  const x = randn([n, 2, 8, 8]).add(y.float().mul(2).sub(1).mul(0.5).reshape(n, 1, 1, 1).mul(tensor([1, -1]).reshape(1, 2, 1, 1)));
  return { x: x.contiguous('channels_last'), y };
});
const params = tidy(() => [randn([8, 2, 3, 3]).mul(0.3), randn([8]).mul(0), randn([2, 8]).mul(0.3), randn([2]).mul(0)]
  .map((p) => p.requiresGrad_()));
params.forEach(keep);
const opt = new Adam(params, { lr: 1e-2, amsgrad: true });
const start = Date.now();
for (let step = 1; step <= 200; step++) {
  const loss = tidy(() => {
    const { x, y } = makeBatch(64);
    opt.zeroGrad();
    const h = F.conv2d(x, params[0], params[1], { padding: 1 }).relu();
    const loss = F.crossEntropy(F.linear(h.mean([2, 3]), params[2], params[3]), y);
    loss.backward();
    opt.step();
    return loss.item();
  });
  if (step % 50 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}
console.log(`200 steps in ${((Date.now() - start) / 1000).toFixed(2)} s; live tensors: ${liveTensors()} (the 4 parameters)`);

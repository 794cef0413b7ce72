// One rank of the --sync-bn tests (or, without torchrun's variables, the single-process reference):
// a BatchNorm2d layer on this rank's half of a fixed batch of 4, loss = Σ y·R for a fixed R, one
// backward; prints y, the input gradient, γ/β gradients and the running statistics as JSON.
import { DataParallel } from '../../src/distributed/data-parallel.js';
import { synchronizeBatchNorm } from '../../src/distributed/sync-batchnorm.js';
import { BatchNorm2d } from '../../src/nn/batchnorm.js';
import { manualSeed, noGrad, randn, tensor } from '../../src/index.js';

const dp = DataParallel.fromEnvironment({ timeoutSeconds: 10 });
try {
  manualSeed(0);
  const full = randn([4, 3, 5, 5]).mul(2).add(3); // a mean far from 0, as after a convolution
  const r = randn([4, 3, 5, 5]);
  const bn = new BatchNorm2d({ numFeatures: 3, momentum: 0.1 });
  noGrad(() => {
    bn.weight!.copy_(tensor([1.5, 0.5, 2]));
    bn.bias!.copy_(tensor([0.1, -0.2, 0.3]));
  });
  const [start, count] = dp ? [2 * dp.rank, 2] : [0, 4];
  if (dp) synchronizeBatchNorm([bn], dp.group);
  const x = full.narrow(0, start, count).contiguous().detach().requiresGrad_();
  bn.train();
  const y = bn.forward(x);
  y.mul(r.narrow(0, start, count)).sum().backward();
  process.stdout.write(`${JSON.stringify({
    x: x.toNumbers(), dy: r.narrow(0, start, count).contiguous().toNumbers(), y: y.toNumbers(), dx: x.grad!.toNumbers(),
    dWeight: bn.weight!.grad!.toNumbers(), dBias: bn.bias!.grad!.toNumbers(), runningMean: bn.runningMean.toNumbers(), runningVar: bn.runningVar.toNumbers(),
  })}\n`);
  dp?.close(true);
} catch (e) {
  process.stderr.write(`${(e as Error).stack}\n`);
  dp?.close();
  process.exitCode = 1;
}

// One rank of the process-group tests, started by them with torchrun's variables. Mode 'ops'
// runs every collective on rank-dependent values and prints the results as one JSON line;
// 'die' has rank 1 kill itself after joining while rank 0 enters an allreduce.
import { DataParallel } from '../../src/distributed/data-parallel.js';
import { DistributedError } from '../../src/distributed/process-group.js';
import { tensor, liveTensors, tidy } from '../../src/index.js';

const mode = process.argv[2] ?? 'ops';
const timeoutSeconds = Number(process.env.TEST_TIMEOUT ?? 10);

try {
  const dp = DataParallel.fromEnvironment({ timeoutSeconds, fingerprint: process.env.TEST_FINGERPRINT ?? '' });
  if (dp === null) throw new Error('group-worker needs RANK and WORLD_SIZE');
  const g = dp.group;
  const r = g.rank;
  if (mode === 'die' && r === 1) process.kill(process.pid, 'SIGKILL');
  const base = liveTensors();
  const out = tidy(() => {
    const a = tensor([r + 1, 10 * (r + 1), -r], { dtype: 'float32' });
    const n = tensor([r + 1, 7], { dtype: 'int64' });
    g.allreduce([a, n], 'sum');
    const avg = tensor([r + 1, 4 * r], { dtype: 'float64' });
    g.allreduce([avg], 'avg');
    const mx = tensor([r, -r], { dtype: 'float32' });
    g.allreduce([mx], 'max');
    // Several small buckets (8 bytes each) exercise the bucketing.
    const b1 = tensor([r * 10, r * 10 + 1], { dtype: 'float32' });
    const b2 = tensor([[r, r], [r, r]], { dtype: 'float32' });
    g.broadcast([b1, b2], 1, 8);
    const numbers = g.sum([r, 1, 0.5]);
    // A channels-last 4-d parameter: gradients are copied back through their own strides.
    const w = tensor(Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i / 10), { dtype: 'float32', shape: [2, 3, 2, 2] }).toChannelsLast().requiresGrad_();
    const v = tensor([1, 2, 3], { dtype: 'float32' }).requiresGrad_();
    const unused = tensor([5], { dtype: 'float32' }).requiresGrad_();
    const coef = tensor(Array.from({ length: 24 }, (_, i) => (r + 1) * (i + 1)), { dtype: 'float32', shape: [2, 3, 2, 2] });
    w.mul(coef).sum().add(v.mul(r + 1).sum()).backward();
    const flags = g.averageGradients([[w, v, unused]], [r === 1 ? 1 : 0]);
    return {
      rank: r, worldSize: g.worldSize,
      sum: a.toNumbers(), sumInt: n.toNumbers(), avg: avg.toNumbers(), max: mx.toNumbers(),
      bcast: [...b1.toNumbers(), ...b2.toNumbers()], numbers,
      gradW: w.grad!.contiguous().toNumbers(), gradV: v.grad!.toNumbers(), unusedGrad: unused.grad === null, flags,
    };
  });
  g.barrier();
  process.stdout.write(`${JSON.stringify({ ...out, leaked: liveTensors() - base })}\n`);
  dp.close(true);
} catch (e) {
  process.stderr.write(`${e instanceof DistributedError ? 'DistributedError' : 'Error'}: ${(e as Error).message}\n`);
  process.exitCode = 1;
}

// One rank of the allreduce measurement: joins from torchrun's variables, allreduces a flat
// float32 buffer of each requested size (bytes) repeatedly, and rank 0 prints the median ms.
// Usage (per rank): allreduce-worker.js REPEATS BYTES...
import { DataParallel } from '../src/distributed/data-parallel.js';
import { zeros } from '../src/index.js';

const [repeatsArg, ...sizes] = process.argv.slice(2);
const dp = DataParallel.fromEnvironment({ timeoutSeconds: 60 });
if (!dp) throw new Error('allreduce-worker needs RANK and WORLD_SIZE');
const out: Record<string, number> = {};
for (const bytes of sizes.map(Number)) {
  const t = zeros([Math.max(1, Math.round(bytes / 4))]);
  const times: number[] = [];
  dp.group.barrier();
  for (let i = 0; i < 3 + Number(repeatsArg); i++) {
    const t0 = performance.now();
    dp.group.allreduce([t], 'avg', Number.MAX_SAFE_INTEGER);
    if (i >= 3) times.push(performance.now() - t0);
  }
  t.dispose();
  out[bytes] = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
}
if (dp.isRoot) process.stdout.write(`${JSON.stringify(out)}\n`);
dp.close(true);

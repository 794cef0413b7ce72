// A small custom-loss training loop, many small ops per step, run for many steps with RSS sampled:
// what a user's own loss, miner or metric costs per op, and whether memory stays flat over a long run.
//   node dist/bench/small-ops.js [--steps 10000]   (prints one JSON line)
import { Adam, F, liveTensors, manualSeed, randint, randn, tidy } from '../src/index.js';

export interface SmallOpsResult {
  small_ops_steps: number;
  small_ops_per_step: number;
  small_ops_us_per_step: number;
  small_ops_live_tensor_delta: number;
  /** RSS in MiB every tenth of the run (the first after one tenth, as warm-up). */
  small_ops_rss_mb: number[];
  /** Growth from the first sample to the last, %. */
  small_ops_rss_growth_pct: number;
}

/**
 * A linear embedding of 32 random 16-d points trained with a hand-written contrastive loss
 * (pairwise cosine similarities, positive/negative masks, margins, log-sum-exp): 26 tensor ops
 * on tensors of at most 32×32 elements, so the per-op overhead dominates.
 */
export function smallOpsBench(o: { steps: number }): SmallOpsResult {
  manualSeed(0);
  const base = liveTensors();
  const { w, x, labels } = tidy(() => ({ w: randn([16, 8]).mul(0.3).requiresGrad_(), x: randn([32, 16]), labels: randint(0, 4, [32]) }));
  const opt = new Adam([w], { lr: 1e-3 });
  let opsPerStep = 0;
  const step = (): number => tidy(() => {
    opt.zeroGrad();
    const before = liveTensors();
    const e = F.normalize(x.matmul(w), { dim: 1 });
    const sim = e.matmul(e.T);
    const pos = labels.unsqueeze(1).eq(labels.unsqueeze(0)).float();
    const neg = pos.rsub(1);
    const posLoss = sim.rsub(1).mul(pos).clampMin(0).sum();
    const negLoss = sim.sub(0.4).clampMin(0).mul(neg).sum();
    const lse = sim.mul(10).add(pos.mul(-1e4)).logsumexp(1);
    const loss = posLoss.add(negLoss).div(32).add(lse.mean().mul(0.01));
    opsPerStep = liveTensors() - before; // every op above made one tensor
    loss.backward();
    opt.step();
    return loss.item();
  });
  step();
  const perStep = opsPerStep;
  const samples: number[] = [];
  const every = Math.max(1, Math.floor(o.steps / 10));
  const t = performance.now();
  for (let i = 1; i <= o.steps; i++) {
    step();
    if (i % every === 0) samples.push(process.memoryUsage().rss / 2 ** 20);
  }
  const usPerStep = ((performance.now() - t) * 1000) / o.steps;
  opt.dispose();
  w.dispose(); x.dispose(); labels.dispose();
  return {
    small_ops_steps: o.steps,
    small_ops_per_step: perStep,
    small_ops_us_per_step: usPerStep,
    small_ops_live_tensor_delta: liveTensors() - base,
    small_ops_rss_mb: samples,
    small_ops_rss_growth_pct: samples.length > 1 ? (100 * (samples[samples.length - 1] - samples[0])) / samples[0] : 0,
  };
}

if (process.argv[1]?.endsWith('small-ops.js')) {
  const i = process.argv.indexOf('--steps');
  const steps = i >= 0 ? Number(process.argv[i + 1]) : 10_000;
  process.stdout.write(`${JSON.stringify(smallOpsBench({ steps }))}\n`);
}

// Where the seed's training step spends its time at the bench's thread count, op by op, from
// libtorch's profiler (`profile()`): self time per step (an op's time minus the ops it called),
// calls per step, and the page faults the steps took (/proc/self/stat).
//   node dist/bench/step-profile.js [--steps 10] [--threads 2]
// The profiler adds a few µs to every op, so compare the lines with each other, not with
// `npm run bench`; PyTorch's side is `torch.profiler` around the same step (docs/performance.md).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Adam, manualSeed, profile, randint, randn, setNumThreads, tidy } from '../src/index.js';
import { createEmbeddingNet } from '../src/models/registry.js';
import { createHead } from '../src/losses/registry.js';
import { formatTable } from '../src/util/table.js';

interface TraceEvent { name: string; ph: string; ts: number; dur: number; tid: number | string }

/** Self time (µs) and count per op name, from a Chrome trace of complete ('X') events. */
export function selfTimes(events: TraceEvent[]): Map<string, { us: number; calls: number }> {
  const byThread = new Map<TraceEvent['tid'], TraceEvent[]>();
  for (const e of events) if (e.ph === 'X') (byThread.get(e.tid) ?? byThread.set(e.tid, []).get(e.tid)!).push(e);
  const out = new Map<string, { us: number; calls: number }>();
  for (const list of byThread.values()) {
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const self = new Map<TraceEvent, number>(list.map((e) => [e, e.dur]));
    const open: TraceEvent[] = [];
    for (const e of list) {
      while (open.length && open[open.length - 1].ts + open[open.length - 1].dur <= e.ts) open.pop();
      if (open.length) self.set(open[open.length - 1], self.get(open[open.length - 1])! - e.dur);
      open.push(e);
    }
    for (const [e, us] of self) {
      const o = out.get(e.name) ?? { us: 0, calls: 0 };
      o.us += us; o.calls++;
      out.set(e.name, o);
    }
  }
  return out;
}

const pageFaults = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);

function main(): void {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' }, top: { type: 'string', default: '20' } } });
  const steps = Number(values.steps);
  setNumThreads(Number(values.threads));
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.5, inputSize: 32 }).toChannelsLast();
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 10 });
  const opt = new Adam([...model.parameters(), ...head.parameters()], { lr: 1e-4, amsgrad: true });
  const { x, y } = tidy(() => ({ x: randn([128, 3, 32, 32]).contiguous('channels_last'), y: randint(0, 10, [128]) }));
  const step = (): void => tidy(() => { opt.zeroGrad(); head.loss(model.forward(x), y).backward(); opt.step(); });
  for (let i = 0; i < 5; i++) step();
  const faults = pageFaults();
  const t = performance.now();
  for (let i = 0; i < steps; i++) step();
  const plainMs = (performance.now() - t) / steps;
  const faultsPerStep = (pageFaults() - faults) / steps;
  const trace = join(tmpdir(), `dm-step-profile-${process.pid}.json`);
  profile(trace, () => { for (let i = 0; i < steps; i++) step(); });
  const raw = JSON.parse(readFileSync(trace, 'utf8')) as TraceEvent[] | { traceEvents: TraceEvent[] };
  const rows = [...selfTimes(Array.isArray(raw) ? raw : raw.traceEvents)].sort((a, b) => b[1].us - a[1].us);
  const total = rows.reduce((s, [, v]) => s + v.us, 0) / steps / 1000;
  process.stdout.write(`step ${plainMs.toFixed(1)} ms unprofiled, ${faultsPerStep.toFixed(0)} page faults a step; profiled self times sum to ${total.toFixed(1)} ms a step\n`);
  process.stdout.write(`${formatTable(rows.slice(0, Number(values.top)).map(([name, v]) => ({
    op: name, 'ms/step': (v.us / steps / 1000).toFixed(2), 'calls/step': (v.calls / steps).toFixed(0),
  })))}\n`);
  opt.dispose(); model.dispose(); head.dispose(); x.dispose(); y.dispose();
}

main();

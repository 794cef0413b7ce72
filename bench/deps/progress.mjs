// Progress bars: the project's ProgressBar (src/util/progress.ts) vs cli-progress.
//
//   node bench/deps/progress.mjs
//
// Set-up (scratch install, build) at the top of bench/deps/common.mjs. Simulates one epoch of
// 300 batches (~10 ms each, 3 s) and prints, for a non-terminal stream (CI log, file) and for a
// terminal (a fake TTY, 100 columns), what each bar writes; then the cost of a tick, and whether a
// bar that is never stopped (an exception skipped the cleanup) keeps the process from exiting.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DIST, EVAL_DIR, projectImport, scratchImport, scratchVersion } from './common.mjs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const cliModule = await scratchImport('cli-progress');
const cliProgress = cliModule.SingleBar ? cliModule : cliModule.default;
const { ProgressBar } = await projectImport('src/util/progress.js');
const version = scratchVersion('cli-progress');

/** A stream that records what is written to it, as a terminal or as a plain file would receive it. */
function capture(isTTY) {
  const chunks = [];
  return { chunks, isTTY, columns: isTTY ? 100 : undefined, write(s) { chunks.push(String(s)); return true; }, on() {}, removeListener() {} };
}
// eslint-disable-next-line no-control-regex
// A carriage return or "cursor to column 1" starts a redraw; other escapes (cursor save/restore, clear) are dropped.
const visible = (s) => s.replace(/\x1b\[1?G|\r/g, '⏎').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const TOTAL = 300;
const BATCH = 64;

async function epoch(bars) {
  for (let i = 1; i <= TOTAL; i++) {
    await sleep(10);
    const loss = 2 / Math.sqrt(i);
    for (const b of bars) b.tick(loss);
  }
  for (const b of bars) b.finish();
}

// Adapters: the same calls to both; cli-progress has no rate field, so the payload carries one.
const ours = (stream) => {
  const bar = new ProgressBar({ total: TOTAL * BATCH, label: 'epoch 1/10', unit: 'img', stream });
  return { tick: (loss) => bar.tick(BATCH, { loss }), finish: () => bar.finish() };
};
const theirs = (stream, extra = {}) => {
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'epoch 1/10: {percentage}% |{bar}| {value}/{total} [{duration_formatted}<{eta_formatted}, {rate} img/s] loss={loss}',
    barCompleteChar: '█', barIncompleteChar: ' ',
    ...extra,
  });
  const start = performance.now();
  bar.start(TOTAL * BATCH, 0, { loss: '?', rate: '?' });
  let n = 0;
  return {
    tick: (loss) => { n += BATCH; bar.increment(BATCH, { loss: loss.toPrecision(4), rate: (n / ((performance.now() - start) / 1000)).toFixed(0) }); },
    finish: () => bar.stop(),
  };
};

const plain = { project: capture(false), [`cli-progress ${version}`]: capture(false), [`cli-progress ${version} noTTYOutput`]: capture(false) };
const tty = { project: capture(true), [`cli-progress ${version}`]: capture(true) };
const names = Object.keys(plain);
await epoch([
  ours(plain.project), theirs(plain[names[1]]), theirs(plain[names[2]], { noTTYOutput: true }),
  ours(tty.project), theirs(tty[names[1]]),
]);

console.log(`Non-terminal stream (CI log), one epoch of ${TOTAL} batches over ~${(TOTAL * 10) / 1000} s:`);
for (const [name, s] of Object.entries(plain)) {
  const lines = s.chunks.join('').split('\n').filter((l) => l.length > 0);
  console.log(`  ${name}: ${lines.length} lines${lines.length ? `; last: ${JSON.stringify(visible(lines.at(-1)))}` : ''}`);
}
console.log('\nTerminal (fake TTY, 100 columns): writes, bytes, and the last line drawn:');
for (const [name, s] of Object.entries(tty)) {
  const all = s.chunks.join('');
  const last = visible(all).split(/⏎|\n/).filter((l) => l.trim()).at(-1);
  console.log(`  ${name}: ${s.chunks.length} writes, ${all.length} bytes; ${JSON.stringify(last)}`);
}

// Unknown total (streamed inputs of unknown count).
const unknown = capture(false);
const u = new ProgressBar({ label: 'embedding', unit: 'img', stream: unknown, tty: true });
await sleep(200);
u.update(1234);
u.finish();
const unknownTheirs = capture(true);
const ut = new cliProgress.SingleBar({ stream: unknownTheirs });
ut.start(undefined, 0);
await sleep(200);
ut.update(1234);
ut.stop();
console.log('\nUnknown total, 1234 done:');
console.log(`  project: ${JSON.stringify(visible(unknown.chunks.join('')).split('⏎').filter(Boolean).at(-1).trim())}`);
console.log(`  cli-progress: ${JSON.stringify(visible(unknownTheirs.chunks.join('')).split('⏎').filter(Boolean).at(-1).trim())}`);

// Cost of a tick in a tight loop (redraws throttled by both to 10 per second).
const N = 1_000_000;
const sink = capture(true);
const a = new ProgressBar({ total: N, stream: sink });
let t = performance.now();
for (let i = 0; i < N; i++) a.tick();
const oursNs = ((performance.now() - t) * 1e6) / N;
a.finish();
const b = new cliProgress.SingleBar({ stream: sink });
b.start(N, 0);
t = performance.now();
for (let i = 0; i < N; i++) b.increment();
const theirsNs = ((performance.now() - t) * 1e6) / N;
b.stop();
console.log(`\nCost per tick (1e6 ticks): project ${oursNs.toFixed(0)} ns, cli-progress ${theirsNs.toFixed(0)} ns`);

// A bar left running (the code threw before stop/finish): does the process still exit?
const cliPath = pathToFileURL(createRequire(join(EVAL_DIR, 'package.json')).resolve('cli-progress')).href;
const oursPath = pathToFileURL(join(DIST, 'src/util/progress.js')).href;
const leftRunning = {
  project: `const { ProgressBar } = await import(${JSON.stringify(oursPath)}); const b = new ProgressBar({ total: 10, stream: process.stdout, tty: true }); b.tick();`,
  'cli-progress': `const m = await import(${JSON.stringify(cliPath)}); const c = m.SingleBar ? m : m.default; const b = new c.SingleBar({ stream: Object.assign(process.stdout, { isTTY: true }) }); b.start(10, 0); b.increment();`,
};
console.log('\nBar never stopped, then the script ends:');
for (const [name, code] of Object.entries(leftRunning)) {
  const t0 = performance.now();
  let outcome;
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore', timeout: 3000 });
    outcome = `exits after ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (e) {
    outcome = e.code === 'ETIMEDOUT' || e.signal ? 'still running after 3 s (killed): its redraw timer holds the event loop' : `failed: ${e.message}`;
  }
  console.log(`  ${name}: ${outcome}`);
}

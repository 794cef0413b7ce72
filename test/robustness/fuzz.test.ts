// The fuzz pass (issue 22): every file format deepmetric reads gets a fixed number of seeded
// mutants of files made by the real writers (fuzz-formats.ts, mutate.ts), fed to its reader in a
// child process (fuzz-child.ts). Each mutant must be accepted or refused with an Error: no signal,
// no crash exit, no stray exception, no hang (deadline per child), peak RSS under 1 GB. Messages
// that do not name the file, leaked tensors and the slowest mutants are reported, not failed.
// DEEPMETRIC_FUZZ_SEED picks another base seed, DEEPMETRIC_FUZZ_SCALE runs more (or fewer) mutants.
// A failure names (format, seed, iteration), keeps the mutant under $TMPDIR/deepmetric-fuzz-failures
// and gives the command that replays it. The seeds are the same run to run except the checkpoint's
// and the legacy torch file's (libtorch's optimizer archive and legacy torch.save write object
// addresses): for those the kept file is the reproducer.
import assert from 'node:assert/strict';
import { before, type TestContext } from 'node:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput, runNode, tempDir } from './bad-input.js';
import { type FuzzFormat, formatByName, loadSeeds, makeMutant, makeSeeds, mutantFileName } from './fuzz-formats.js';
import type { MutantLine } from './fuzz-child.js';

const BASE_SEED = Number(process.env.DEEPMETRIC_FUZZ_SEED ?? 1);
const SCALE = Number(process.env.DEEPMETRIC_FUZZ_SCALE ?? 1);
const RSS_LIMIT_MB = 1024;
/** A child still running after this long is hung (each runs its format's share in a few seconds). */
const CHILD_DEADLINE_MS = 60_000;
/** After a crash the fuzz goes on from the next mutant, this many times at most (not after a hang: that costs the deadline). */
const MAX_RESTARTS = 4;

const childPath = fileURLToPath(new URL('./fuzz-child.js', import.meta.url));
const seedDir = tempDir('fuzz-seeds');
const workDir = tempDir('fuzz-work');
const keepDir = join(tmpdir(), 'deepmetric-fuzz-failures');

before(async () => {
  await makeSeeds(seedDir);
}, { timeout: 120_000 });

interface Failure { iteration: number; why: string }

/** Keeps a failing mutant on disk and says how to replay it. */
function reproducer(format: FuzzFormat, iteration: number): string {
  mkdirSync(keepDir, { recursive: true });
  const m = makeMutant(format, loadSeeds(format, seedDir), BASE_SEED, iteration);
  const file = join(keepDir, mutantFileName(format, BASE_SEED, iteration));
  writeFileSync(file, m.bytes);
  return `format ${format.name}, seed ${BASE_SEED}, iteration ${iteration} (from ${m.seed}: ${m.ops.join('; ')}); kept as ${file}; ` +
    `replay: node dist/test/robustness/fuzz-child.js --replay ${format.name} ${file}`;
}

const namesFile = (message: string, format: FuzzFormat, i: number): boolean => message.includes(mutantFileName(format, BASE_SEED, i));

async function fuzz(t: TestContext, name: string): Promise<void> {
  const format = formatByName(name);
  const missing = format.seeds.filter((s) => !existsSync(join(seedDir, s)));
  if (missing.length > 0) {
    t.skip(`no seed ${missing.join(', ')}: /usr/bin/python3 lacks torch, h5py or numpy (apt install python3-torch python3-h5py)`);
    return;
  }
  const count = Math.max(1, Math.round(format.count * SCALE));
  const results: Array<MutantLine & { run: number }> = [];
  const failures: Failure[] = [];
  const started = performance.now();
  let peakMb = 0;
  for (let from = 0, restarts = 0; from < count && restarts <= MAX_RESTARTS; restarts++) {
    const run = await runNode([childPath, format.name, seedDir, String(BASE_SEED), String(from), String(count), workDir], { killAfterMs: CHILD_DEADLINE_MS });
    peakMb = Math.max(peakMb, run.peakRssMb || 0);
    let begun = -1;
    let fatal = '';
    for (const text of run.stdout.split('\n')) {
      let line: MutantLine & { begin?: number; fatal?: string; message?: string };
      try {
        line = JSON.parse(text);
      } catch {
        continue; // not one of the child's lines, or one cut short by a crash
      }
      if (line.begin !== undefined) begun = line.begin;
      else if (line.fatal) fatal = `${line.fatal}: ${line.message}`;
      else results.push({ ...line, run: restarts });
    }
    const last = results.at(-1)?.i ?? from - 1;
    if (run.code === 0 && run.signal === null) break;
    if (fatal.startsWith('seed refused')) {
      assert.fail(`fuzz/${format.name}: the reader refused the unmutated seed, so the fuzz would prove nothing: ${fatal}`);
    }
    const culprit = begun > last ? begun : last + 1;
    const hung = run.signal === 'SIGKILL' && run.seconds * 1000 >= CHILD_DEADLINE_MS - 1000;
    const how = hung ? `hang (the child was killed after ${run.seconds.toFixed(0)} s)`
      : run.signal ? `crash: signal ${run.signal}` : fatal ? `crash: ${fatal.split('\n').slice(0, 3).join(' | ')}` : `crash: exit code ${run.code}`;
    const tail = run.stderr.replace(/\n*deepmetric-test peak-rss-kb=\d+\n*$/, '').split('\n').filter(Boolean).slice(-4).join(' | ');
    failures.push({ iteration: culprit, why: `${how}${tail ? ` — stderr: ${tail.slice(0, 600)}` : ''}` });
    if (hung) break;
    from = culprit + 1;
  }
  const seconds = (performance.now() - started) / 1000;

  // What the file-level rules say about each result.
  let previousPeak = 0;
  results.forEach((r, k) => {
    if (r.outcome === 'refused' && r.error?.startsWith('non-Error')) failures.push({ iteration: r.i, why: `threw a ${r.error}: ${r.message}` });
    // Each mutant that raised the child's peak RSS by 64 MB or more to over the limit (a fresh child starts from 0).
    if (r.peakMb > RSS_LIMIT_MB && r.peakMb - previousPeak >= 64) {
      failures.push({ iteration: r.i, why: `peak RSS ${previousPeak} → ${r.peakMb} MB with this mutant (limit ${RSS_LIMIT_MB} MB), ${r.ms} ms, ${r.outcome}: ${r.message ?? r.note ?? ''}`.slice(0, 400) });
    }
    previousPeak = results[k + 1]?.run !== r.run ? 0 : Math.max(previousPeak, r.peakMb);
    if (r.message?.startsWith('BUG:')) failures.push({ iteration: r.i, why: r.message });
  });
  if (peakMb > RSS_LIMIT_MB && !failures.some((f) => f.why.startsWith('peak RSS'))) failures.push({ iteration: results.at(-1)?.i ?? 0, why: `peak RSS ${peakMb.toFixed(0)} MB, over ${RSS_LIMIT_MB} MB` });

  const accepted = results.filter((r) => r.outcome === 'accepted');
  const refused = results.filter((r) => r.outcome === 'refused');
  const unnamed = refused.filter((r) => !namesFile(r.message ?? '', format, r.i));
  const leaky = results.filter((r) => r.leaked > 0);
  const slowest = results.reduce<MutantLine | undefined>((a, r) => (!a || r.ms > a.ms ? r : a), undefined);
  const notes = accepted.filter((r) => r.note?.includes('not scored') || r.note?.includes('not searched'));
  t.diagnostic(`fuzz/${format.name} (${format.reader}): ${results.length} of ${count} mutants ran in ${seconds.toFixed(1)} s — ${accepted.length} accepted, ${refused.length} refused; ` +
    `peak RSS ${peakMb.toFixed(0)} MB; slowest ${slowest ? `${slowest.ms} ms (iteration ${slowest.i})` : '-'}`);
  const classes = new Map<string, number>();
  for (const r of refused) classes.set(r.error!, (classes.get(r.error!) ?? 0) + 1);
  t.diagnostic(`  refused as: ${[...classes].map(([c, n]) => `${c} ${n}`).join(', ') || '-'}`);
  if (unnamed.length > 0) {
    // Shortest first: the least informative messages.
    const distinct = [...new Map(unnamed.map((r) => [r.message!.replace(/\d+/g, 'N').slice(0, 80), r])).values()].sort((a, b) => a.message!.length - b.message!.length);
    t.diagnostic(`  ${unnamed.length} refusals do not name the file (${distinct.length} distinct), e.g.: ${distinct.slice(0, 4).map((r) => `[i=${r.i}] ${r.error}: ${r.message!.slice(0, 160)}`).join(' || ')}`);
  }
  if (leaky.length > 0) t.diagnostic(`  ${leaky.length} mutants leaked tensors, e.g. iteration ${leaky[0].i} (${leaky[0].outcome}: ${leaky[0].message ?? leaky[0].note ?? ''})`.slice(0, 400));
  if (notes.length > 0) t.diagnostic(`  ${notes.length} accepted with an absurd size, e.g. iteration ${notes[0].i}: ${notes[0].note}`.slice(0, 400));
  if (process.env.DEEPMETRIC_FUZZ_REPORT) writeFileSync(`${process.env.DEEPMETRIC_FUZZ_REPORT}.${format.name}.json`, JSON.stringify({ results, failures }, null, 1));

  assert.ok(results.length > 0, `fuzz/${format.name}: no mutant ran`);
  assert.deepEqual(failures.map((f) => `${f.why}\n    ${reproducer(format, f.iteration)}`), [],
    `fuzz/${format.name}: ${failures.length} mutant(s) crashed, hung or ran away with memory in ${format.reader}`);
}

const timeout = 240_000;
badInput('fuzz/checkpoint', 'mutated training checkpoints (resealed behind their checksum too) are loaded and restored or refused', (t) => fuzz(t, 'checkpoint'), { timeout });
badInput('fuzz/detector', 'mutated .dmdet detectors (resealed too) are loaded and score an image, or are refused', (t) => fuzz(t, 'detector'), { timeout });
badInput('fuzz/index', 'mutated .dmidx indexes, HNSW and exact (resealed too), are loaded and searched, or refused', (t) => fuzz(t, 'index'), { timeout });
badInput('fuzz/safetensors', 'mutated safetensors files (bytes and header JSON) are read or refused', (t) => fuzz(t, 'safetensors'), { timeout });
badInput('fuzz/torch-zip', 'mutated torch.save zip checkpoints are read or refused', (t) => fuzz(t, 'torch-zip'), { timeout });
badInput('fuzz/torch-legacy', 'mutated legacy (pickle) torch.save checkpoints are read or refused', (t) => fuzz(t, 'torch-legacy'), { timeout });
badInput('fuzz/keras-h5', 'mutated Keras .h5 weight files are read or refused', (t) => fuzz(t, 'keras-h5'), { timeout });
badInput('fuzz/onnx', 'mutated ONNX exports are decoded by our reader and by onnxruntime, or refused', (t) => fuzz(t, 'onnx'), { timeout });
badInput('fuzz/zip-archive', 'mutated .zip image archives are listed or refused', (t) => fuzz(t, 'zip-archive'), { timeout });
badInput('fuzz/tar-archive', 'mutated .tar image archives (header checksums resealed too) are listed or refused', (t) => fuzz(t, 'tar-archive'), { timeout });
badInput('fuzz/tar-gz-archive', 'mutated .tar.gz image archives (the tar inside a valid gzip too) are listed or refused', (t) => fuzz(t, 'tar-gz-archive'), { timeout });
badInput('fuzz/jpeg', 'mutated JPEGs are decoded (libjpeg-turbo fast path or sharp) or refused', (t) => fuzz(t, 'jpeg'), { timeout });
badInput('fuzz/png', 'mutated PNGs (chunk CRCs resealed too) are decoded or refused', (t) => fuzz(t, 'png'), { timeout });

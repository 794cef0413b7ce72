// The child process of the fuzz pass: makes mutants from iteration `from` to `to` of one format
// and feeds each to the format's reader, printing one JSON line per mutant (accepted or refused,
// the error's class and message, time, peak RSS so far, tensors leaked). A crash, a hang or a
// stray exception stops it: the parent sees the signal / exit code / deadline and the last line.
//
//   node dist/test/robustness/fuzz-child.js FORMAT SEED_DIR BASE_SEED FROM TO WORK_DIR [KEEP_DIR]
//
// With KEEP_DIR, each mutant is also copied there before it is read (to reproduce one: FROM = i, TO = i + 1).
// Before reading a mutant it prints {"begin": i, …}, so a crash or hang names its mutant.
//
//   node dist/test/robustness/fuzz-child.js --replay FORMAT FILE
//
// reads one kept mutant with the format's reader (under gdb or valgrind, say) and prints the outcome.
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FuzzFormat, formatByName, loadSeeds, makeMutant, mutantFileName } from './fuzz-formats.js';

export interface MutantLine {
  i: number;
  outcome: 'accepted' | 'refused';
  /** The thrown value's class (Error, TypeError, DataFileError…) or 'non-Error <typeof>'. */
  error?: string;
  message?: string;
  note?: string;
  ms: number;
  /** Peak RSS of the process so far, in MB. */
  peakMb: number;
  /** Tensors alive after the mutant that were not before it. */
  leaked: number;
}

async function readOne(format: FuzzFormat, file: string): Promise<Partial<MutantLine>> {
  const line: Partial<MutantLine> = {};
  try {
    const note = await format.read(file);
    line.outcome = 'accepted';
    if (note) line.note = note;
  } catch (e) {
    line.outcome = 'refused';
    line.error = e instanceof Error ? e.constructor.name : `non-Error ${typeof e}`;
    line.message = e instanceof Error ? e.message : String(e);
  }
  return line;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--replay') {
    process.stdout.write(`${JSON.stringify(await readOne(formatByName(process.argv[3]), process.argv[4]))}\n`);
    return;
  }
  const [name, seedDir, baseSeedText, fromText, toText, workDir, keepDir] = process.argv.slice(2);
  const format = formatByName(name);
  const baseSeed = Number(baseSeedText);
  const set = loadSeeds(format, seedDir);
  const { liveTensors } = await import('../../src/tensor/memory.js');
  process.on('uncaughtException', (e) => {
    process.stdout.write(`${JSON.stringify({ fatal: 'uncaughtException', message: String((e as Error)?.stack ?? e) })}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    process.stdout.write(`${JSON.stringify({ fatal: 'unhandledRejection', message: String((e as Error)?.stack ?? e) })}\n`);
    process.exit(71);
  });
  // The unmutated seeds must be accepted: a reader that refuses everything (a module that failed
  // to load, a seed the reader cannot read) would make the fuzz pass vacuously.
  for (const seed of set.seeds) {
    const r = await readOne(format, join(seedDir, seed.name));
    if (r.outcome !== 'accepted') {
      process.stdout.write(`${JSON.stringify({ fatal: 'seed refused', message: `${seed.name}: ${r.error}: ${r.message}` })}\n`);
      process.exit(72);
    }
  }
  for (let i = Number(fromText); i < Number(toText); i++) {
    const { bytes, ops, seed } = makeMutant(format, set, baseSeed, i);
    const file = join(workDir, mutantFileName(format, baseSeed, i));
    writeFileSync(file, bytes);
    if (keepDir) copyFileSync(file, join(keepDir, mutantFileName(format, baseSeed, i)));
    process.stdout.write(`${JSON.stringify({ begin: i, seed, ops })}\n`);
    const before = liveTensors();
    const started = performance.now();
    const line: Partial<MutantLine> = { i, ...(await readOne(format, file)) };
    line.ms = Math.round(performance.now() - started);
    line.peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
    line.leaked = liveTensors() - before;
    rmSync(file, { force: true });
    // A real process returns to its event loop between files: finalizers of native objects (hnswlib's graphs) run there.
    await new Promise((resolve) => setImmediate(resolve));
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

await main();
// h5wasm and onnxruntime may keep handles open; the work is done.
process.exit(0);

// How \`deepmetric anomaly\` runs beyond one process and one seed: --parallel-heads (every head in
// its own process, gathered in a sequential run's order) and --seeds (the whole protocol once per
// seed, then mean ± std); and the summary it prints. The protocol itself is src/anomaly/protocol.ts.
import { join, resolve } from 'node:path';
import { readFileSync, renameSync } from 'node:fs';
import { DETECTOR_EXTENSION } from '../anomaly/anomaly-detector.js';
import { AUTOENCODER_JOB } from '../anomaly/protocol.js';
import type { AnomalyFigures, AnomalyResults } from '../anomaly/results.js';
import { byAuroc, resultTable, tableRows, writeAnomalyOutputs } from '../anomaly/outputs.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { HtmlReport } from '../report/html-report.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { lockOutputFolder } from '../util/output-lock.js';
import type { ParsedOptions } from './args.js';
import { runInfo } from './run-info.js';
import { commandInterrupt } from './interrupt.js';
import { runHeadsInParallel } from './parallel-heads.js';
import { seedsTable, seedsTableRows, summarizeSeeds } from './anomaly-quality.js';

/** One protocol run (one seed) of the anomaly command. */
type OneRun = (argv: string[], o: ParsedOptions, dp: DataParallel | null) => Promise<AnomalyResults>;

/** What one head's process hands back with --parallel-heads. */
export interface HeadPayload {
  results: AnomalyResults;
  figures: { rows: AnomalyFigures['rows']; projections: Array<[string, AnomalyFigures['projections'] extends Map<string, infer V> ? V : never]> };
  /** AUROC of its detector candidate (saved next to the payload), or null when it has none. */
  auroc: number | null;
}

/**
 * --parallel-heads: every head (and the autoencoder) in its own process at once; rows, figures and
 * the best detector gathered in the order a sequential run produces them.
 */
export async function anomalyHeadsInParallel(argv: string[], o: ParsedOptions, plan: { heads: string[]; withAutoencoder: boolean; out: string }): Promise<AnomalyResults> {
  const { out } = plan;
  commandInterrupt.beginStoppableWork(); // Ctrl-C reaches the heads' processes, which stop cleanly; wait for them
  const jobs = [...plan.heads, ...(plan.withAutoencoder ? [AUTOENCODER_JOB] : [])];
  const finalDetector = join(out, `detector${DETECTOR_EXTENSION}`);
  let bestAuroc = -Infinity;
  const run = await runHeadsInParallel<HeadPayload>(o, 'anomaly', argv, jobs, out, (_job, path) => {
    const payload = JSON.parse(readFileSync(path, 'utf8')) as HeadPayload;
    // The first best in job order wins ties, as in a sequential run.
    if (payload.auroc !== null && payload.results.detector && payload.auroc > bestAuroc) {
      bestAuroc = payload.auroc;
      renameSync(`${path}${DETECTOR_EXTENSION}`, finalDetector);
      payload.results.detector.path = finalDetector;
    }
    return payload;
  });
  const payloads = run.results.filter((p): p is HeadPayload => p !== null);
  if (payloads.length === 0) throw new Error(`anomaly --parallel-heads: no head's process wrote results${run.interrupted ? ' (interrupted)' : ''}`);
  const chosen = payloads.filter((p) => p.auroc !== null && p.results.detector).reduce<HeadPayload | null>((a, p) => (a === null || p.auroc! > a.auroc! ? p : a), null);
  const autoencoder = payloads.find((p) => p.results.autoencoder)?.results.autoencoder;
  const interrupted = run.interrupted || payloads.some((p) => p.results.interrupted) || payloads.length < jobs.length;
  const { autoencoder: _a, detector: _d, interrupted: _i, ...first } = payloads[0].results;
  const results: AnomalyResults = {
    ...first,
    ...runInfo(['anomaly', ...argv], o),
    threads: run.threadsEach,
    results: payloads.flatMap((p) => p.results.results),
    heads: payloads.flatMap((p) => p.results.heads),
    ...(autoencoder ? { autoencoder } : {}),
    ...(chosen?.results.detector ? { detector: chosen.results.detector } : {}),
    ...(interrupted ? { interrupted } : {}),
  };
  const figures: AnomalyFigures = { rows: payloads.flatMap((p) => p.figures.rows), projections: new Map(payloads.flatMap((p) => p.figures.projections)) };
  if (run.interrupted) {
    process.exitCode = 130;
    process.stderr.write('anomaly: stopped; results so far written. Resume with the same command plus --resume.\n');
  }
  await writeAnomalyOutputs(out, results, figures);
  printSummary(out, results);
  return results;
}

export function printSummary(out: string, results: AnomalyResults): void {
  const { detector } = results;
  process.stdout.write(`${resultTable(results.results)}\n\nWrote ${join(out, 'anomaly.json')}, roc, scores and embedding .svg/.png, and report.html\n`);
  if (detector) {
    process.stdout.write(`Wrote ${detector.path} (${detector.head} · ${detector.score}, threshold ${detector.threshold.value.toPrecision(4)}: ` +
      `${(detector.validation.fpr * 100).toFixed(1)}% of normal test images and ${((detector.validation.tpr ?? NaN) * 100).toFixed(1)}% of anomalies above it); ` +
      `score new images with: deepmetric score --detector ${detector.path} IMAGES…\n`);
  }
}

/**
 * --seeds: the whole protocol once per seed, each in OUT/seed-N with all its outputs; then OUT/anomaly.json
 * holds every seed's rows (tagged with their seed) and, per head × score, mean ± std over the seeds.
 */
export async function runSeeds(argv: string[], o: ParsedOptions, seeds: number[], dp: DataParallel | null, anomalyRun: OneRun): Promise<AnomalyResults> {
  const out = resolve(o.out as string);
  // distributed: the launcher holds --out for its workers
  const lock = dp ? null : lockOutputFolder(out, { what: '--out', command: ['deepmetric anomaly', ...argv].join(' ') });
  try {
    return await runSeedsInFolder(argv, o, seeds, out, dp, anomalyRun);
  } finally {
    lock?.release();
  }
}

async function runSeedsInFolder(argv: string[], o: ParsedOptions, seeds: number[], out: string, dp: DataParallel | null, anomalyRun: OneRun): Promise<AnomalyResults> {
  const runs: AnomalyResults[] = [];
  const root = !dp || dp.isRoot;
  for (const [i, seed] of seeds.entries()) {
    if (root) process.stderr.write(`anomaly: seed ${seed} (${i + 1} of ${seeds.length}) → ${join(out, `seed-${seed}`)}\n`);
    const run = await anomalyRun(argv, { ...o, seeds: undefined, seed, out: join(out, `seed-${seed}`) }, dp);
    runs.push(run);
    if (run.interrupted) {
      if (root) process.stderr.write(`anomaly: stopped during seed ${seed}; the seeds after it were not run. Resume with the same command plus --resume.\n`);
      break;
    }
  }
  const rows = runs.flatMap((r, i) => r.results.map((row) => ({ ...row, seed: seeds[i] })));
  const done = seeds.slice(0, runs.length);
  const { summary } = summarizeSeeds(rows, done);
  // Per-seed records (autoencoder history, detector file) stay in seed-N/anomaly.json.
  const { autoencoder: _autoencoder, detector: _detector, ...first } = runs[0];
  const results: AnomalyResults = {
    ...first, ...runInfo(['anomaly', ...argv], o),
    config: { ...first.config, seed: seeds[0], seeds },
    ...(runs.length < seeds.length ? { interrupted: true } : {}),
    results: rows,
    heads: runs.flatMap((r, i) => r.heads.map((h) => ({ ...h, seed: seeds[i] }))),
    seeds: done, summary,
  };
  if (!root) return results; // distributed: rank 0 alone writes
  await writeFileAtomic(join(out, 'anomaly.json'), `${JSON.stringify(results, null, 2)}\n`);
  const sortedRows = [...rows].sort(byAuroc);
  await new HtmlReport({ title: 'deepmetric anomaly over seeds', subtitle: results.command })
    .notes(`The protocol ran once per seed (${seeds.join(', ')}); each seed's charts, report and detector are in seed-N/. ` +
      'Mean ± sample standard deviation over the seeds, per head and score.', { heading: 'Seeds' })
    .table(seedsTableRows(summary), { heading: 'AUROC over seeds (sorted by mean)' })
    .table(tableRows(sortedRows).map((r, i) => ({ seed: sortedRows[i].seed, ...r })), { heading: 'Every seed', digits: 4 })
    .write(join(out, 'report.html'));
  process.stdout.write(`\nOver seeds ${seeds.join(', ')}:\n${seedsTable(summary)}\n\nWrote ${join(out, 'anomaly.json')} and report.html (per seed: seed-N/)\n`);
  return results;
}

// `deepmetric score`: scores image files (files, folders, tar archives) with a saved detector —
// per image the score, threshold, verdict and nearest normal training images — as a table, JSON,
// CSV and an HTML page with thumbnails of the flagged images beside their nearest normal ones.
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AnomalyDetector, type Neighbour } from '../anomaly/anomaly-detector.js';
import { scoreImageFiles, type FileScore } from '../anomaly/score-files.js';
import { thumbnailDataUri } from '../anomaly/thumbnail.js';
import { HtmlReport, type ReportImage } from '../report/html-report.js';
import { formatTable } from '../util/table.js';
import { csvCell } from '../util/printable.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ProgressBar } from '../util/progress.js';
import { type CommandSpec, parseOptions, positionalsOf, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';

export const scoreSpec: CommandSpec = {
  name: 'score',
  summary: 'Score image files with a saved detector: anomaly score, verdict and the nearest normal training images',
  usage: 'deepmetric score --detector FILE [options] PATH…',
  positionals: { name: 'PATH…', description: 'Image files, folders (searched recursively) and .tar/.tar.gz archives' },
  options: {
    detector: { type: 'string', description: 'A detector file (detector.dmdet from fit-detector or anomaly --out; required)' },
    k: { type: 'number', integer: true, min: 0, default: 3, description: 'Nearest normal training images shown per image' },
    json: { type: 'boolean', default: false, description: 'Print the results as JSON on stdout instead of the table' },
    csv: { type: 'string', description: 'Also write the results to this CSV file' },
    report: { type: 'string', description: 'Also write DIR/report.html: every result, and thumbnails of the flagged images beside their nearest normal ones' },
    'report-max': { type: 'number', integer: true, min: 0, default: 50, description: 'Flagged images shown with thumbnails in the report (highest scores first)' },
    'batch-size': { type: 'number', integer: true, min: 1, default: 256, description: 'Images per forward pass' },
    concurrency: { type: 'number', integer: true, min: 1, default: 16, description: 'Files read and decoded at once' },
    threads: TRAINING_OPTIONS.threads,
  },
  examples: [
    'deepmetric score --detector runs/detector/detector.dmdet new-photos/',
    'deepmetric score --detector detector.dmdet a.jpg b.png --k 5 --csv scores.csv --report runs/scored',
    'deepmetric score --detector detector.dmdet batch.tar.gz --json > scores.json',
  ],
};

export interface ScoreResults {
  schema: 'deepmetric/score-results/1';
  detector: string;
  threshold: number;
  k: number;
  n_files: number;
  n_anomalous: number;
  /** Files that could not be read or decoded (the command then exits with code 1). */
  n_failed: number;
  results: Array<{ file: string; score: number | null; threshold: number; verdict: 'anomaly' | 'normal' | 'error'; neighbours: Neighbour[]; error?: string }>;
}

const neighbourText = (n: Neighbour): string => `${n.name ? basename(n.name.split(':').pop()!) : `#${n.index}`} (${n.distance.toFixed(3)})`;

function toCsv(r: ScoreResults): string {
  const lines = [['file', 'score', 'threshold', 'verdict', 'neighbours', 'error'].join(',')];
  for (const row of r.results) {
    lines.push([row.file, row.score, row.threshold, row.verdict, row.neighbours.map((n) => `${n.name ?? `#${n.index}`}:${n.distance}`).join(';'), row.error ?? ''].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

async function writeReport(dir: string, detectorPath: string, detector: AnomalyDetector, r: ScoreResults, scored: FileScore[], max: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const m = detector.manifest;
  const method = m.method.kind === 'embedding' ? `${m.method.backbone.name} + ${String(m.method.head.name)} · ${m.method.scorer.name}` : 'autoencoder (reconstruction error)';
  const report = new HtmlReport({ title: 'deepmetric score', subtitle: detectorPath })
    .config({ detector: detectorPath, method, normal: m.normal_classes.join(', '), threshold: m.threshold.value, threshold_rule: `${m.threshold.rule} ${m.threshold.target}`,
      files: r.n_files, anomalous: r.n_anomalous, failed: r.n_failed }, { heading: 'Detector' })
    .table(r.results.map((x) => ({ file: x.file, score: x.score ?? '', verdict: x.verdict, nearest: x.neighbours.map(neighbourText).join(', '), error: x.error ?? '' })),
      { heading: 'Results', digits: 4 });
  const flagged = scored.filter((s) => s.anomalous && s.pixels).sort((a, b) => b.score! - a.score!).slice(0, max);
  if (flagged.length > 0) {
    const p = detector.preprocessing;
    const rows = [];
    for (const f of flagged) {
      const images: ReportImage[] = [{ src: await thumbnailDataUri(f.pixels!, p), caption: `${basename(f.file)} · ${f.score!.toFixed(4)}`, flagged: true }];
      for (const n of f.neighbours ?? []) {
        const px = detector.normalImage(n.index);
        if (px) images.push({ src: await thumbnailDataUri(px, p), caption: `${n.name ? basename(n.name) : `#${n.index}`} · ${n.distance.toFixed(3)}` });
      }
      rows.push({ label: `${f.file}: score ${f.score!.toFixed(4)} > threshold ${m.threshold.value.toFixed(4)}`, images });
    }
    report.imageRows(rows, { heading: `Flagged images beside their nearest normal training images${m.neighbours.images ? '' : ' (the detector file stores no training images)'}` });
  }
  const path = join(dir, 'report.html');
  await report.write(path);
  return path;
}

export async function scoreCommand(argv: string[]): Promise<ScoreResults> {
  const o = parseOptions(scoreSpec, argv);
  if (!o.detector) throw new UsageError('Expected --detector FILE (a detector.dmdet written by fit-detector or anomaly --out) but received none');
  const paths = positionalsOf(o);
  if (paths.length === 0) throw new UsageError('Expected image files, folders or archives to score but received none');
  applyRuntime({ ...o, device: 'cpu' });
  const detectorPath = resolve(o.detector as string);
  const detector = AnomalyDetector.load(detectorPath);
  try {
    const k = o.k as number;
    const bar = o.json ? null : new ProgressBar({ label: 'score', unit: 'img' });
    let last = 0;
    const scored = await scoreImageFiles(detector, paths, {
      k, batchSize: o['batch-size'] as number, concurrency: o.concurrency as number,
      keepPixels: o.report ? (row) => row.anomalous === true : undefined,
      onProgress: (done) => {
        bar?.tick(done - last);
        last = done;
      },
    });
    bar?.finish();
    const results: ScoreResults = {
      schema: 'deepmetric/score-results/1',
      detector: detectorPath,
      threshold: detector.threshold,
      k,
      n_files: scored.length,
      n_anomalous: scored.filter((s) => s.anomalous).length,
      n_failed: scored.filter((s) => s.error !== undefined).length,
      results: scored.map((s) => ({
        file: s.file, score: s.score ?? null, threshold: s.threshold, verdict: s.error !== undefined ? 'error' : s.anomalous ? 'anomaly' : 'normal',
        neighbours: s.neighbours ?? [], ...(s.error !== undefined ? { error: s.error } : {}),
      })),
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      const rows = results.results.map((x) => ({ file: x.file, score: x.score ?? '', threshold: x.threshold, verdict: x.verdict, ...(k > 0 ? { nearest_normal: x.neighbours.map(neighbourText).join(', ') } : {}), ...(results.n_failed > 0 ? { error: x.error ?? '' } : {}) }));
      process.stdout.write(`${rows.length > 0 ? formatTable(rows, { digits: 4 }) : '(no files found)'}\n\n${results.n_files} files: ${results.n_anomalous} anomalous, ` +
        `${results.n_files - results.n_anomalous - results.n_failed} normal, ${results.n_failed} failed (threshold ${detector.threshold.toPrecision(4)})\n`);
    }
    if (o.csv) await writeFileAtomic(resolve(o.csv as string), toCsv(results));
    if (o.report) {
      const path = await writeReport(resolve(o.report as string), detectorPath, detector, results, scored, o['report-max'] as number);
      process.stderr.write(`score: wrote ${path}\n`);
    }
    if (results.n_failed > 0) process.stderr.write(`score: ${results.n_failed} file(s) could not be read or decoded (exit code 1)\n`);
    return results;
  } finally {
    detector.dispose();
  }
}

// `deepmetric anomaly`: one class is normal, another the anomaly. Each head is trained on the
// normal and reference classes (never on anomaly images), each scorer is fitted on the embeddings
// of the normal training images only, and the test images of the normal and anomaly classes are
// scored. Optionally the convolutional autoencoder baseline is scored by reconstruction error.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { materializeDataset } from '../data/file-image-dataset.js';
import type { NormalizationName } from '../data/normalization.js';
import { anomalySplit, stratifiedSubset, type AnomalySplit, type ClassRef } from '../data/splits.js';
import { concatDatasets, subsetDataset, type ImageDataset } from '../data/dataset.js';
import { createScorer, SCORER_NAMES } from '../eval/scorers/registry.js';
import { cat } from '../tensor/combine.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import { manualSeed, randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Device } from '../tensor/device.js';
import type { Head } from '../losses/head.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { train } from '../train/trainer.js';
import type { HeadResult } from './compare.js';
import { embedDataset, inEvalMode } from '../train/evaluate.js';
import type { InputNormalization } from '../train/batch-tensors.js';
import { anomalyMetrics, type AnomalyMetrics } from '../anomaly/anomaly-metrics.js';
import { maxSoftmaxScore, normalPosteriorScore } from '../anomaly/max-softmax-score.js';
import { pca } from '../anomaly/pca.js';
import { reconstructionErrors, trainAutoencoder, type AutoencoderEpoch } from '../anomaly/train-autoencoder.js';
import { rocChart } from '../report/roc-chart.js';
import { histogramChart } from '../report/histogram-chart.js';
import { scatterChart } from '../report/scatter-chart.js';
import { lineChart } from '../report/line-chart.js';
import { seriesColor } from '../report/palette.js';
import { writeChart } from '../report/png.js';
import { HtmlReport } from '../report/html-report.js';
import { formatTable } from '../util/table.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { type CommandSpec, parseOptions, type ParsedOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime, buildModel, checkHeadNames, modelSpec, trainConfig } from './experiment.js';
import { loadCommandData } from './data-options.js';
import { runInfo, type RunInfo } from './run-info.js';

/** Scores from the head's class probabilities rather than fitted on embeddings; they need class logits. */
const POSTERIOR_SCORES: readonly string[] = ['msp', 'normal-prob'];
export const ANOMALY_SCORES: readonly string[] = [...SCORER_NAMES, ...POSTERIOR_SCORES];

export const anomalySpec: CommandSpec = {
  name: 'anomaly',
  summary: 'Anomaly detection: train on normal + reference classes, score normal vs anomaly test images (AUROC), optionally vs an autoencoder',
  usage: 'deepmetric anomaly --normal CLASS --anomaly CLASS [options]',
  options: {
    normal: { type: 'list', description: 'Normal class(es), by name or index (required)' },
    anomaly: { type: 'list', description: 'Anomaly class(es), by name or index; never trained on (required)' },
    reference: { type: 'list', description: 'Labelled classes trained on besides the normal ones (default: every class neither normal nor anomaly)' },
    heads: { type: 'list', default: ['softmax', 'l2softmax'], description: 'Heads to train and score (any from the losses registry)' },
    score: { type: 'list', default: ['knn'], choices: ANOMALY_SCORES, description: "Anomaly scores of the embeddings, fitted on the normal training images; for classifying heads also 'msp' = 1 − max softmax probability and 'normal-prob' = 1 − probability of the normal classes" },
    'score-options': { type: 'string', description: 'JSON options per score, e.g. {"knn":{"k":10,"metric":"euclidean"},"lof":{"k":30}}' },
    baseline: { type: 'list', choices: ['autoencoder'], description: 'Baselines scored under the same protocol' },
    'ae-normal-only': { type: 'boolean', default: false, description: 'Train the autoencoder on the normal training images only (default: normal + reference, like the heads)' },
    'ae-lr': { type: 'number', default: 1e-3, description: 'Adam learning rate of the autoencoder' },
    'reference-sample': { type: 'number', integer: true, min: 0, default: 1000, description: 'Reference test images shown in the embedding scatter' },
    out: { type: 'string', default: 'runs/anomaly', description: 'Output folder: anomaly.json, roc/scores/embedding .svg/.png, report.html, checkpoints' },
    ...TRAINING_OPTIONS,
  },
  examples: [
    'deepmetric anomaly --normal cat --anomaly dog --epochs 3 --max-train 10000',
    'deepmetric anomaly --normal cat --anomaly dog --heads softmax,l2softmax,arcface --score knn,mahalanobis,msp --baseline autoencoder --augment --epochs 30',
    'deepmetric anomaly --normal 3 --anomaly 5 --reference airplane,automobile --score knn --score-options \'{"knn":{"k":1}}\'',
  ],
};

export interface AnomalyRow {
  head: string;
  score: string;
  score_options?: Record<string, unknown>;
  auroc: number;
  aupr: number;
  fpr_at_95_tpr: number;
  n_normal: number;
  n_anomaly: number;
  train_seconds: number;
  best_val_acc: number | null;
}

/** A head's training record: the same fields as compare's. */
export type AnomalyHeadRun = HeadResult;

export interface AnomalyResults extends RunInfo {
  schema: 'deepmetric/anomaly-results/1';
  dataset: { source: string; classes: string[] };
  protocol: {
    normal: string[];
    anomaly: string[];
    reference: string[];
    /** Training images of the heads (normal + reference; no anomaly image). */
    n_train: number;
    /** Normal training images the scorers are fitted on. */
    n_fit: number;
    /** Validation images for the training curves (test images of the normal and reference classes). */
    n_val: number;
    n_test_normal: number;
    n_test_anomaly: number;
    /** Which weights are scored: those after the last epoch (the validation set never selects a model). */
    model: 'final epoch';
  };
  config: Record<string, unknown>;
  results: AnomalyRow[];
  heads: AnomalyHeadRun[];
  autoencoder?: { normal_only: boolean; n_train: number; lr: number; train_seconds: number; history: AutoencoderEpoch[] };
}

/** What the figures need beyond anomaly.json: the scores and projections, kept in memory only. */
interface Figures {
  rows: Array<{ row: AnomalyRow; metrics: AnomalyMetrics; normal: number[]; anomaly: number[] }>;
  projections: Map<string, { normal: number[][]; anomaly: number[][]; reference: number[][]; explained: number[] }>;
}

/** A class given on the command line: a class name when the dataset has it, else an index. */
function classRef(text: string, classes: readonly string[]): ClassRef {
  return classes.includes(text) || !/^\d+$/.test(text) ? text : Number(text);
}

function refsOf(o: ParsedOptions, flag: 'normal' | 'anomaly' | 'reference', classes: readonly string[]): ClassRef[] | undefined {
  const raw = o[flag] as string[] | undefined;
  return raw?.map((t) => classRef(t, classes));
}

/** The protocol split, with command-line wording for every mistake the user can make in the roles. */
export function splitForAnomaly(trainSet: ImageDataset, testSet: ImageDataset, o: ParsedOptions): AnomalySplit {
  const classes = trainSet.classes;
  const label = (ref: ClassRef): number => (typeof ref === 'number' ? ref : classes.indexOf(ref));
  const roles = { normal: refsOf(o, 'normal', classes), anomaly: refsOf(o, 'anomaly', classes), reference: refsOf(o, 'reference', classes) };
  for (const flag of ['normal', 'anomaly', 'reference'] as const) {
    for (const ref of roles[flag] ?? []) {
      const l = label(ref);
      if (!(l >= 0 && l < classes.length)) {
        throw new UsageError(`Expected --${flag} to name classes of the dataset (${classes.join(', ')}) or their indices 0–${classes.length - 1} but received '${ref}'`);
      }
    }
  }
  for (const [a, b] of [['normal', 'anomaly'], ['normal', 'reference'], ['anomaly', 'reference']] as const) {
    const both = (roles[a] ?? []).filter((ra) => (roles[b] ?? []).some((rb) => label(rb) === label(ra)));
    if (both.length > 0) {
      throw new UsageError(`Expected different classes for --${a} and --${b} but received '${classes[label(both[0])]}' in both`);
    }
  }
  try {
    return anomalySplit(trainSet, testSet, { normal: roles.normal!, anomaly: roles.anomaly!, reference: roles.reference });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

function parseScoreOptions(o: ParsedOptions, scores: string[]): Record<string, Record<string, unknown>> {
  const raw = o['score-options'] as string | undefined;
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`Expected JSON for --score-options but received '${raw}' (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`Expected a JSON object of options per score for --score-options, e.g. {"knn":{"k":10}}, but received '${raw}'`);
  }
  for (const [name, opts] of Object.entries(parsed)) {
    if (!scores.includes(name)) throw new UsageError(`Expected --score-options keys among the scores in --score (${scores.join(', ')}) but received '${name}'`);
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new UsageError(`Expected an object of options for '${name}' in --score-options but received ${JSON.stringify(opts)}`);
    if (POSTERIOR_SCORES.includes(name)) {
      if (Object.keys(opts).length > 0) throw new UsageError(`Expected no options for '${name}' in --score-options but received ${JSON.stringify(opts)}`);
      continue;
    }
    try {
      createScorer(name, opts).dispose();
    } catch (e) {
      throw new UsageError(`--score-options for '${name}': ${(e as Error).message}`);
    }
  }
  return parsed as Record<string, Record<string, unknown>>;
}

/** Fails before any training when a scorer cannot be fitted on this many normal images (e.g. k too large). */
function checkScorersFit(scores: string[], scoreOptions: Record<string, Record<string, unknown>>, fitSet: ImageDataset): void {
  for (const score of scores.filter((s) => !POSTERIOR_SCORES.includes(s))) {
    const scorer = createScorer(score, scoreOptions[score] ?? {});
    try {
      tidy(() => scorer.fit(randn([fitSet.labels.length, 4]), fitSet.labels));
    } catch (e) {
      throw new UsageError(`Expected a score that can be fitted on the ${fitSet.labels.length} normal training images but '${score}' cannot: ${(e as Error).message}`);
    } finally {
      scorer.dispose();
    }
  }
}

export async function anomalyCommand(argv: string[], o: ParsedOptions = parseOptions(anomalySpec, argv)): Promise<AnomalyResults> {
  if (!o.normal) throw new UsageError('Expected --normal CLASS (a class name or index) but received none');
  if (!o.anomaly) throw new UsageError('Expected --anomaly CLASS (a class name or index) but received none');
  const heads = o.heads as string[];
  checkHeadNames(heads);
  const scores = [...new Set(o.score as string[])];
  const scoreOptions = parseScoreOptions(o, scores);
  const withAutoencoder = ((o.baseline as string[] | undefined) ?? []).includes('autoencoder');
  applyRuntime(o);
  const out = resolve(o.out as string);
  mkdirSync(out, { recursive: true });

  const source = o.data as string | undefined;
  const seed = o.seed as number;
  const data = await loadCommandData(o, undefined, o.normalize as NormalizationName);
  const split = splitForAnomaly(materializeDataset(data.train), materializeDataset(data.test), o);
  const trainSet = o['max-train'] ? stratifiedSubset(split.train, { size: Math.min(o['max-train'] as number, split.train.labels.length), seed }) : split.train;
  if (trainSet.classes.length < 2) {
    throw new UsageError(`Expected at least 2 training classes (normal + reference) for the heads but received ${trainSet.classes.length} ('${trainSet.classes.join("', '")}'); add --reference classes`);
  }
  const isNormal = (label: number): boolean => label < split.normalClassCount;
  const fitSet = subsetDataset(trainSet, [...trainSet.labels.keys()].filter((i) => isNormal(trainSet.labels[i])));
  const fullVal = split.testReference.labels.length > 0 ? concatDatasets([split.testNormal, split.testReference]) : split.testNormal;
  const val = o['max-val'] ? stratifiedSubset(fullVal, { size: Math.min(o['max-val'] as number, fullVal.labels.length), seed: seed + 1 }) : fullVal;
  const refCount = Math.min(o['reference-sample'] as number, split.testReference.labels.length);
  const refSample = refCount > 0 ? stratifiedSubset(split.testReference, { size: refCount, seed: seed + 2 }) : null;
  const { testNormal, testAnomaly } = split;
  checkScorersFit(scores, scoreOptions, fitSet);
  const config = trainConfig(o, data);
  process.stderr.write(`anomaly: normal ${split.normalClasses.join(',')} vs anomaly ${split.anomalyClasses.join(',')}` +
    ` (reference: ${split.referenceClasses.join(',') || 'none'}); ${trainSet.labels.length} training images, ${fitSet.labels.length} normal for fitting,` +
    ` ${testNormal.labels.length} + ${testAnomaly.labels.length} test; ${o.backbone}, ${config.epochs} epochs, batch ${config.batchSize}\n`);

  const figures: Figures = { rows: [], projections: new Map() };
  const headRuns: AnomalyHeadRun[] = [];
  let interrupted = false;
  for (const name of heads) {
    const { model, head } = buildModel(o, name, trainSet.classes.length, data.input);
    try {
      const r = await train({ model, head, train: trainSet, val, config, dir: join(out, 'checkpoints', name), resume: o.resume as boolean, label: name, modelSpec: modelSpec(o, data.input) });
      if (r.interrupted) {
        process.stderr.write(`anomaly: stopped during '${name}'; results so far written. Resume with the same command plus --resume.\n`);
        interrupted = true;
        break;
      }
      headRuns.push({ name, config: head.config(), best_val_acc: r.bestValAcc, best_epoch: r.bestEpoch, final_val_acc: r.finalValAcc, train_seconds: r.trainSeconds, history: r.history });
      scoreHead({ name, model, head, trainSeconds: r.trainSeconds, bestValAcc: r.bestValAcc }, { fitSet, testNormal, testAnomaly, refSample, normalClassCount: split.normalClassCount },
        { scores, scoreOptions, norm: config.normalization, device: config.device ?? 'cpu' }, figures);
    } finally {
      model.dispose();
      head.dispose();
    }
  }

  let autoencoder: AnomalyResults['autoencoder'];
  if (withAutoencoder && !interrupted) {
    const normalOnly = o['ae-normal-only'] as boolean;
    const aeTrain = normalOnly ? fitSet : trainSet;
    const device = config.device ?? 'cpu';
    manualSeed(seed);
    const ae = new ConvAutoencoder({ inChannels: trainSet.channels });
    try {
      if (device !== 'cpu') ae.to(device);
      const dir = join(out, 'checkpoints', 'autoencoder');
      const r = await trainAutoencoder({ model: ae, train: aeTrain, epochs: config.epochs, batchSize: config.batchSize, lr: o['ae-lr'] as number, seed, device, dir, resume: o.resume as boolean });
      const normal = reconstructionErrors(ae, testNormal, { device });
      const anomaly = reconstructionErrors(ae, testAnomaly, { device });
      addRow(figures, { head: 'autoencoder', score: 'reconstruction', trainSeconds: r.trainSeconds, bestValAcc: null }, normal, anomaly);
      autoencoder = { normal_only: normalOnly, n_train: aeTrain.labels.length, lr: o['ae-lr'] as number, train_seconds: r.trainSeconds, history: r.history };
    } finally {
      ae.dispose();
    }
  }

  const results: AnomalyResults = {
    schema: 'deepmetric/anomaly-results/1',
    ...runInfo(['anomaly', ...argv]),
    dataset: { source: source ? resolve(source) : 'default', classes: data.classNames },
    protocol: {
      normal: split.normalClasses, anomaly: split.anomalyClasses, reference: split.referenceClasses,
      n_train: trainSet.labels.length, n_fit: fitSet.labels.length, n_val: val.labels.length,
      n_test_normal: testNormal.labels.length, n_test_anomaly: testAnomaly.labels.length, model: 'final epoch',
    },
    config: { backbone: o.backbone, alpha: o.alpha, ...config, scores, score_options: scoreOptions, baseline: withAutoencoder ? 'autoencoder' : null },
    results: figures.rows.map((r) => r.row),
    heads: headRuns,
    ...(autoencoder ? { autoencoder } : {}),
  };
  await writeAnomalyOutputs(out, results, figures);
  process.stdout.write(`${resultTable(results.results)}\n\nWrote ${join(out, 'anomaly.json')}, roc, scores and embedding .svg/.png, and report.html\n`);
  return results;
}

interface HeadUnderTest { name: string; model: EmbeddingNet; head: Head; trainSeconds: number; bestValAcc: number }
interface ScoringSets { fitSet: ImageDataset; testNormal: ImageDataset; testAnomaly: ImageDataset; refSample: ImageDataset | null; normalClassCount: number }
interface ScoringOptions { scores: string[]; scoreOptions: Record<string, Record<string, unknown>>; norm: InputNormalization; device: Device }

/** Embeds the sets with a trained head's network, scores the test images with every score, and projects them for the scatter. */
function scoreHead(h: HeadUnderTest, sets: ScoringSets, o: ScoringOptions, figures: Figures): void {
  const embed = (d: ImageDataset): Tensor => keep(embedDataset(h.model, d, { norm: o.norm, device: o.device }));
  const owned: Tensor[] = [];
  try {
    const fit = embed(sets.fitSet);
    owned.push(fit);
    const normal = embed(sets.testNormal);
    owned.push(normal);
    const anomaly = embed(sets.testAnomaly);
    owned.push(anomaly);
    const test = keep(cat([normal, anomaly]));
    owned.push(test);
    const n = sets.testNormal.labels.length;
    for (const score of o.scores) {
      let values: number[];
      if (POSTERIOR_SCORES.includes(score)) {
        if (!h.head.classifies) {
          process.stderr.write(`anomaly: skipping '${score}' for '${h.name}', which has no class logits\n`);
          continue;
        }
        values = inEvalMode([h.head], () => tidy(() => (score === 'msp'
          ? maxSoftmaxScore(h.head, test) : normalPosteriorScore(h.head, test, sets.normalClassCount)).toNumbers()));
      } else {
        const scorer = createScorer(score, o.scoreOptions[score] ?? {});
        try {
          scorer.fit(fit, sets.fitSet.labels);
          values = tidy(() => scorer.score(test).toNumbers());
        } finally {
          scorer.dispose();
        }
      }
      addRow(figures, { head: h.name, score, scoreOptions: o.scoreOptions[score], trainSeconds: h.trainSeconds, bestValAcc: h.bestValAcc }, values.slice(0, n), values.slice(n));
    }
    const parts = [normal, anomaly];
    if (sets.refSample) {
      const ref = embed(sets.refSample);
      owned.push(ref);
      parts.push(ref);
    }
    const projected = tidy(() => {
      const p = pca(cat(parts), 2);
      return { rows: p.coords.toArray() as number[][], explained: p.explained };
    });
    const m = sets.testAnomaly.labels.length;
    figures.projections.set(h.name, {
      normal: projected.rows.slice(0, n), anomaly: projected.rows.slice(n, n + m), reference: projected.rows.slice(n + m), explained: projected.explained,
    });
  } finally {
    dispose(owned);
  }
}

function addRow(figures: Figures, r: { head: string; score: string; scoreOptions?: Record<string, unknown>; trainSeconds: number; bestValAcc: number | null }, normal: number[], anomaly: number[]): void {
  const metrics = anomalyMetrics(normal, anomaly);
  const row: AnomalyRow = {
    head: r.head, score: r.score, ...(r.scoreOptions && Object.keys(r.scoreOptions).length > 0 ? { score_options: r.scoreOptions } : {}),
    auroc: metrics.auroc, aupr: metrics.aupr, fpr_at_95_tpr: metrics.fpr_at_95_tpr, n_normal: metrics.n_normal, n_anomaly: metrics.n_anomaly,
    train_seconds: r.trainSeconds, best_val_acc: r.bestValAcc,
  };
  figures.rows.push({ row, metrics, normal, anomaly });
}

const byAuroc = <T extends { auroc: number }>(a: T, b: T): number => b.auroc - a.auroc;

function tableRows(rows: AnomalyRow[]): Array<Record<string, unknown>> {
  return [...rows].sort(byAuroc).map((r) => ({
    head: r.head, score: r.score + (r.score_options ? ` ${JSON.stringify(r.score_options)}` : ''), auroc: r.auroc, aupr: r.aupr, fpr_at_95_tpr: r.fpr_at_95_tpr,
    n_normal: r.n_normal, n_anomaly: r.n_anomaly, best_val_acc: r.best_val_acc ?? '', train_minutes: r.train_seconds / 60,
  }));
}

function resultTable(rows: AnomalyRow[]): string {
  return rows.length === 0 ? '(no results)' : formatTable(tableRows(rows), { digits: 4 });
}

const rowLabel = (r: AnomalyRow): string => (r.head === 'autoencoder' ? 'autoencoder (reconstruction)' : `${r.head} · ${r.score}`);

export async function writeAnomalyOutputs(out: string, r: AnomalyResults, figures: Figures): Promise<void> {
  await writeFileAtomic(join(out, 'anomaly.json'), `${JSON.stringify(r, null, 2)}\n`);
  const report = new HtmlReport({ title: 'deepmetric anomaly', subtitle: r.command })
    .config({
      normal: r.protocol.normal.join(', '), anomaly: r.protocol.anomaly.join(', '), reference: r.protocol.reference.join(', ') || 'none',
      n_train: r.protocol.n_train, n_fit: r.protocol.n_fit, n_val: r.protocol.n_val, n_test_normal: r.protocol.n_test_normal, n_test_anomaly: r.protocol.n_test_anomaly,
      ...r.config, dataset: r.dataset.source, threads: r.threads, ...r.versions,
    }, { heading: 'Configuration' })
    .notes(`Protocol: each head is trained on the ${r.protocol.normal.join(', ')} (normal) and reference classes and never sees an image of ${r.protocol.anomaly.join(', ')}. ` +
      `Every score is fitted on the embeddings of the ${r.protocol.n_fit} normal training images only, then ranks the ${r.protocol.n_test_normal} normal and ${r.protocol.n_test_anomaly} anomalous test images; ` +
      'AUROC is the probability that an anomaly scores above a normal image. The weights after the last epoch are scored.', { heading: 'Protocol' });
  if (r.results.length > 0) {
    report.table(tableRows(r.results), { heading: 'Results (sorted by AUROC)', digits: 4, highlight: { column: 'auroc', best: 'max' } });
    const sorted = [...figures.rows].sort((a, b) => byAuroc(a.row, b.row));
    const roc = rocChart(sorted.map((f) => ({ label: rowLabel(f.row), fpr: f.metrics.roc.fpr, tpr: f.metrics.roc.tpr, auroc: f.row.auroc })),
      { title: `ROC: ${r.protocol.normal.join(',')} (normal) vs ${r.protocol.anomaly.join(',')} (anomaly)` });
    await writeChart(out, 'roc', roc);
    report.figure(roc, { heading: 'ROC curves', caption: 'One curve per head and score; the anomaly class is the positive class.' });
    const best = sorted[0];
    const hist = histogramChart([
      { label: `normal (${r.protocol.normal.join(',')})`, values: best.normal },
      { label: `anomaly (${r.protocol.anomaly.join(',')})`, values: best.anomaly },
    ], { title: `Anomaly scores: ${rowLabel(best.row)} (AUROC ${best.row.auroc.toFixed(3)})`, xLabel: 'anomaly score (higher = more anomalous)' });
    await writeChart(out, 'scores', hist);
    report.figure(hist, { heading: 'Score distributions', caption: `Scores of the test images under the best row, ${rowLabel(best.row)}.` });
    const bestHead = sorted.find((f) => figures.projections.has(f.row.head));
    if (bestHead) {
      const p = figures.projections.get(bestHead.row.head)!;
      const group = (label: string, pts: number[][], color?: string) => ({ label, x: pts.map((q) => q[0]), y: pts.map((q) => q[1]), ...(color ? { color } : {}) });
      // Normal and anomaly keep the histogram's colours; the reference classes are context, in grey.
      const groups = [
        ...(p.reference.length > 0 ? [group(`reference (${r.protocol.reference.join(',')})`, p.reference, '#a0a0a0')] : []),
        group(`normal (${r.protocol.normal.join(',')})`, p.normal, seriesColor(0)),
        group(`anomaly (${r.protocol.anomaly.join(',')})`, p.anomaly, seriesColor(1)),
      ];
      const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
      const scatter = scatterChart(groups, { title: `Test embeddings of ${bestHead.row.head}, PCA`, xLabel: `PC1 (${pct(p.explained[0])} of variance)`, yLabel: `PC2 (${pct(p.explained[1])})` });
      await writeChart(out, 'embedding', scatter);
      report.figure(scatter, { heading: 'Embedding', caption: `The first two principal components of the ${bestHead.row.head} embeddings of the test images (a sample of the reference classes).` });
    }
  }
  const withHistory = r.heads.filter((h) => h.history.length > 0);
  if (withHistory.length > 0) {
    report.figure(lineChart(withHistory.map((h) => ({ label: h.name, x: h.history.map((e) => e.epoch), y: h.history.map((e) => e.val_acc) })),
      { title: 'Validation accuracy (normal + reference test images)', xLabel: 'epoch', yLabel: 'validation accuracy' }), { heading: 'Training' });
  }
  if (r.autoencoder && r.autoencoder.history.length > 0) {
    report.table(r.autoencoder.history.map((e) => ({ ...e })), { heading: 'Autoencoder training', digits: 5 });
  }
  await report.write(join(out, 'report.html'));
}

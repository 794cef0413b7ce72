// `deepmetric anomaly`: one class is normal, another the anomaly. Each head is trained on the
// normal and reference classes (never on anomaly images), each scorer is fitted on the embeddings
// of the normal training images only, and the test images of the normal and anomaly classes are
// scored. Optionally the convolutional autoencoder baseline is scored by reconstruction error.
import { join, resolve } from 'node:path';
import { materializeDataset } from '../data/file-image-dataset.js';
import type { NormalizationName } from '../data/normalization.js';
import { loadCommandData } from './data-options.js';
import { anomalySplit, stratifiedSubset, type AnomalySplit, type ClassRef } from '../data/splits.js';
import { concatDatasets, subsetDataset, type ImageDataset } from '../data/dataset.js';
import { createScorer, HEAD_SCORER_NAMES, SCORER_NAMES } from '../eval/scorers/registry.js';
import { tidy } from '../tensor/memory.js';
import { manualSeed, randn } from '../tensor/creation.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { train } from '../train/trainer.js';
import type { HeadResult } from './compare.js';
import { anomalyMetrics, type AnomalyMetrics } from '../anomaly/anomaly-metrics.js';
import { evaluateHead } from '../anomaly/evaluate-head.js';
import { fitDetector, oneClassProblem, type FitMethod } from '../anomaly/fit-detector.js';
import { DETECTOR_EXTENSION, type AnomalyDetector, type DetectorValidation } from '../anomaly/anomaly-detector.js';
import type { Threshold, ThresholdRule } from '../anomaly/threshold.js';
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
import { TRAINING_OPTIONS, applyRuntime, buildModel, checkHeadNames, loadPretrainedWeights, modelSpec, trainConfig, checkBatchFits } from './experiment.js';
import { runInfo, type RunInfo } from './run-info.js';
import { commandInterrupt } from './interrupt.js';
import { lockOutputFolder } from '../util/output-lock.js';
// Anomaly quality (issue 14): rotation self-supervision, network scores, fusion, flip TTA, seeds.
import { ONE_CLASS_ROTATION, QUALITY_OPTIONS, QUALITY_SCORES, auxiliaryRotation, buildOneClassRotation, needsNormalHoldout, parseDepths, parseSeeds, seedsTable, seedsTableRows, summarizeSeeds, type SeedsResults } from './anomaly-quality.js';
import { checkScoreOptions, computeScores, concatTest, type NetworkScore } from '../anomaly/network-scores.js';
import { holdOutNormals } from '../anomaly/normal-holdout.js';
import { rotatedDataset } from '../anomaly/rotation/rotated-dataset.js';
import type { TestTimeAugmentation } from '../anomaly/rotation/rotation-score.js';
// Data-parallel training (issue 16): --nproc etc.; rank 0 alone fits the scorers, evaluates and writes.
import { DISTRIBUTED_OPTIONS, joinIfWorker, launchIfRequested, launcherOutcome } from './distributed-options.js';
import { readDistributedEnv } from '../distributed/environment.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { PARALLEL_HEADS_OPTION, parallelHeadChild, runHeadsInParallel, wantsParallelHeads } from './parallel-heads.js';
import { readFileSync, renameSync } from 'node:fs';

/** Scores from the head's class probabilities rather than fitted on embeddings; they need class logits. */
/** Scores that read class logits. */
export const POSTERIOR_SCORES: readonly string[] = HEAD_SCORER_NAMES;
export const ANOMALY_SCORES: readonly string[] = [...SCORER_NAMES, ...QUALITY_SCORES];

/** The threshold flags, shared with fit-detector. */
export const THRESHOLD_OPTIONS = {
  'threshold-fpr': { type: 'number', description: 'Detector threshold: the fraction of held-out normal validation images allowed to score above it, i.e. the false-positive rate (default 0.05: 95% of normal images fall at or below it)' },
  'threshold-tpr': { type: 'number', description: 'Detector threshold instead chosen so this fraction of the anomaly test images scores above it (the true-positive rate); needs anomaly images' },
} as const;

export const anomalySpec: CommandSpec = {
  name: 'anomaly',
  summary: 'Anomaly detection: train on normal + reference classes, score normal vs anomaly test images (AUROC), optionally vs an autoencoder',
  usage: 'deepmetric anomaly --normal CLASS --anomaly CLASS [options]',
  options: {
    normal: { type: 'list', description: 'Normal class(es), by name or index (required)' },
    anomaly: { type: 'list', description: 'Anomaly class(es), by name or index; never trained on (required unless some test classes have no training images, e.g. MVTec test/<defect>/: then those)' },
    reference: { type: 'list', description: 'Labelled classes trained on besides the normal ones (default: every class neither normal nor anomaly)' },
    heads: { type: 'list', default: ['softmax', 'l2softmax'], description: "Heads to train and score (any from the losses registry), 'rotation' (a one-class model trained on the normal images only, rotation prediction its only task, GEOM), or 'none' (e.g. with --baseline autoencoder on one-class data)" },
    score: { type: 'list', default: ['knn'], choices: ANOMALY_SCORES, description: "Anomaly scores of the embeddings, fitted on the normal training images; for classifying heads also 'msp' = 1 − max softmax probability, 'normal-prob' = 1 − probability of the normal classes, 'max-logit' = −max logit, 'normal-logit' = −the normal class's logit; 'rotation' = −Σ log p(right rotation) (with --aux rotation or the 'rotation' model); 'mahalanobis-depths' (--depths); 'fusion' of the --fuse scores" },
    'score-options': { type: 'string', description: 'JSON options per score, e.g. {"knn":{"k":10,"metric":"euclidean"},"lof":{"k":30}}' },
    baseline: { type: 'list', choices: ['autoencoder'], description: 'Baselines scored under the same protocol' },
    'ae-normal-only': { type: 'boolean', default: false, description: 'Train the autoencoder on the normal training images only (default: normal + reference, like the heads)' },
    'ae-lr': { type: 'number', default: 1e-3, description: 'Adam learning rate of the autoencoder' },
    'reference-sample': { type: 'number', integer: true, min: 0, default: 1000, description: 'Reference test images shown in the embedding scatter' },
    out: { type: 'string', default: 'runs/anomaly', description: `Output folder: anomaly.json, roc/scores/embedding .svg/.png, report.html, checkpoints, and detector${'.dmdet'} (the best row by AUROC, for deepmetric score)` },
    ...THRESHOLD_OPTIONS,
    ...TRAINING_OPTIONS,
    ...QUALITY_OPTIONS,
    ...DISTRIBUTED_OPTIONS,
    ...PARALLEL_HEADS_OPTION,
  },
  examples: [
    'deepmetric anomaly --normal cat --anomaly dog --epochs 3 --max-train 10000',
    'deepmetric anomaly --normal cat --anomaly dog --heads softmax,l2softmax,arcface --score knn,mahalanobis,msp --baseline autoencoder --augment --epochs 30',
    'deepmetric anomaly --normal 3 --anomaly 5 --reference airplane,automobile --score knn --score-options \'{"knn":{"k":1}}\'',
    'deepmetric anomaly --normal cat --anomaly dog --heads l2softmax,rotation --aux rotation --score knn,normal-logit,rotation,fusion --fuse knn,normal-logit,rotation --tta flip --seeds 0,1,2',
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
  /** With --seeds: the seed of this row. */
  seed?: number;
  /** fusion and mahalanobis-depths: the components and their z-normalisation statistics (held-out normal images). */
  components?: string[];
  normalization?: Record<string, { mean: number; std: number; n: number }>;
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
  /** The detector file written for the best row (by AUROC). */
  detector?: { path: string; head: string; score: string; threshold: Threshold; validation: DetectorValidation };
  /** Set when Ctrl-C stopped the run before every head was trained (resume with --resume). */
  interrupted?: boolean;
  /** With --seeds: the seeds and, per head × score, mean ± std over them. */
  seeds?: SeedsResults['seeds'];
  summary?: SeedsResults['summary'];
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

/** Classes with test images but no training images (one-class layouts such as MVTec AD's test/<defect>/): the anomalies when none are named. */
export function testOnlyClasses(trainSet: ImageDataset): string[] {
  const counts = new Array<number>(trainSet.classes.length).fill(0);
  for (const l of trainSet.labels) counts[l]++;
  return trainSet.classes.filter((_, i) => counts[i] === 0);
}

/** The protocol split, with command-line wording for every mistake the user can make in the roles. */
export function splitForAnomaly(trainSet: ImageDataset, testSet: ImageDataset, o: ParsedOptions): AnomalySplit {
  const classes = trainSet.classes;
  const label = (ref: ClassRef): number => (typeof ref === 'number' ? ref : classes.indexOf(ref));
  const roles = { normal: refsOf(o, 'normal', classes), anomaly: refsOf(o, 'anomaly', classes) ?? testOnlyClasses(trainSet), reference: refsOf(o, 'reference', classes) };
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

export function parseScoreOptions(o: ParsedOptions, scores: string[]): Record<string, Record<string, unknown>> {
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
    if (QUALITY_SCORES.includes(name)) {
      try {
        checkScoreOptions(name, opts as Record<string, unknown>);
      } catch (e) {
        throw new UsageError(`--score-options for '${name}': ${(e as Error).message}`);
      }
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
  for (const score of scores.filter((s) => !POSTERIOR_SCORES.includes(s) && !QUALITY_SCORES.includes(s))) {
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
  const seeds = parseSeeds(o);
  if (seeds && o['parallel-heads']) throw new UsageError('Expected either --seeds or --parallel-heads, not both: run one command per seed to train its heads in parallel');
  if (readDistributedEnv() === null && ((o.nproc as number) > 1 || (o.nnodes as number) > 1)) {
    // distributed: this process only launches the workers (which rerun this command) and holds --out for them
    wantsParallelHeads(o); // a usage error with --parallel-heads
    if (!seeds) anomalyPlan(o);
    const out = resolve(o.out as string);
    const lock = lockOutputFolder(out, { what: '--out', command: ['deepmetric anomaly', ...argv].join(' ') });
    try {
      commandInterrupt.beginStoppableWork(); // Ctrl-C reaches the workers, which stop together; wait for them
      const launched = await launchIfRequested(o, 'anomaly', argv);
      return launcherOutcome<AnomalyResults>(launched!, join(out, 'anomaly.json'));
    } finally {
      lock.release();
    }
  }
  // distributed: null unless this process is one rank of several (then it must match the others)
  const dp = joinIfWorker(o, { normal: o.normal, anomaly: o.anomaly, reference: o.reference, heads: o.heads, seeds, model: modelSpec(o), config: trainConfig(o), baseline: o.baseline ?? null });
  try {
    const results = seeds ? await runSeeds(argv, o, seeds, dp) : await anomalyRun(argv, o, dp);
    dp?.close(true);
    return results;
  } finally {
    dp?.close(); // safe twice; after an error it leaves at once
  }
}

/** The checks of the options that need no data, so that a launcher fails before starting workers. */
function anomalyPlan(o: ParsedOptions): Omit<AnomalyPlan, 'out' | 'dp'> {
  const heads = (o.heads as string[]).filter((h) => h !== 'none');
  const classHeads = heads.filter((h) => h !== ONE_CLASS_ROTATION);
  checkHeadNames(classHeads);
  const scores = [...new Set(o.score as string[])];
  const scoreOptions = parseScoreOptions(o, scores);
  const depths = parseDepths(o);
  const withAutoencoder = ((o.baseline as string[] | undefined) ?? []).includes('autoencoder');
  if (heads.length === 0 && !withAutoencoder) throw new UsageError("Expected at least one head in --heads, or --baseline autoencoder with --heads none, but received none");
  const thresholdRule = thresholdRuleOf(o);
  return { heads, classHeads, scores, scoreOptions, depths, withAutoencoder, thresholdRule };
}

/** One protocol run (one seed); `dp` when this process is one data-parallel rank. */
async function anomalyRun(argv: string[], o: ParsedOptions, dp: DataParallel | null): Promise<AnomalyResults> {
  const plan = anomalyPlan(o);
  applyRuntime(o);
  const out = resolve(o.out as string);
  // distributed: the launcher holds --out for its workers; --parallel-heads: the parent holds it for the heads' processes
  const lock = dp || parallelHeadChild() ? null : lockOutputFolder(out, { what: '--out', command: ['deepmetric anomaly', ...argv].join(' ') });
  try {
    if (wantsParallelHeads(o)) return await anomalyHeadsInParallel(argv, o, { ...plan, out, dp });
    return await anomalyInFolder(argv, o, { ...plan, out, dp });
  } finally {
    lock?.release();
  }
}

interface AnomalyPlan {
  heads: string[];
  classHeads: string[];
  scores: string[];
  scoreOptions: Record<string, Record<string, unknown>>;
  depths: ReturnType<typeof parseDepths>;
  withAutoencoder: boolean;
  thresholdRule: ReturnType<typeof thresholdRuleOf>;
  out: string;
  /** Data-parallel rank, or null in a single-process run. */
  dp: DataParallel | null;
}

async function anomalyInFolder(argv: string[], o: ParsedOptions, plan: AnomalyPlan): Promise<AnomalyResults> {
  const { heads, classHeads, scores, scoreOptions, depths, withAutoencoder, thresholdRule, out, dp } = plan;
  const root = !dp || dp.isRoot; // distributed: rank 0 alone fits the scorers, evaluates, prints and writes
  // --parallel-heads: this process trains one head (or the autoencoder); the data split is the whole run's
  const headChild = parallelHeadChild();
  const ownHeads = headChild ? heads.filter((h) => h === headChild.head) : heads;
  const ownAutoencoder = withAutoencoder && (!headChild || headChild.head === AUTOENCODER_JOB);
  const note = (line: string): void => { if (root) process.stderr.write(line); };
  const source = o.data as string | undefined;
  const seed = o.seed as number;
  const data = await loadCommandData(o, undefined, o.normalize as NormalizationName);
  const fullTrain = materializeDataset(data.train);
  const fullTest = materializeDataset(data.test);
  const split = splitForAnomaly(fullTrain, fullTest, o);
  if (split.anomalyClasses.length === 0) {
    throw new UsageError(o.anomaly ? 'Expected --anomaly classes with test images but received none'
      : 'Expected --anomaly CLASS (a class name or index) but received none (every test class also has training images, so none is an anomaly by default)');
  }
  let trainSet = o['max-train'] ? stratifiedSubset(split.train, { size: Math.min(o['max-train'] as number, split.train.labels.length), seed }) : split.train;
  const headProblem = classHeads.length > 0 ? oneClassProblem(classHeads[0], trainSet.classes) : null;
  if (headProblem) {
    throw new UsageError(`Expected at least 2 training classes (normal + reference) for the heads but received ${trainSet.classes.length} ('${trainSet.classes.join("', '")}'): ` +
      `every head learns by telling classes apart. Add --reference classes, or use a method that learns from normal images alone: --heads ${ONE_CLASS_ROTATION} (the one-class rotation model), or --heads none --baseline autoencoder`);
  }
  // Held-out normal training images: z-normalisation for fusion / mahalanobis-depths, the one-class model's validation.
  let valNormal: ImageDataset | null = null;
  if (needsNormalHoldout(scores, heads)) {
    try {
      ({ train: trainSet, validation: valNormal } = holdOutNormals(trainSet, split.normalClassCount, o['holdout-normal'] as number, seed + 3));
    } catch (e) {
      throw new UsageError(`--holdout-normal: ${(e as Error).message}`);
    }
  }
  const isNormal = (label: number): boolean => label < split.normalClassCount;
  const fitSet = subsetDataset(trainSet, [...trainSet.labels.keys()].filter((i) => isNormal(trainSet.labels[i])));
  const fullVal = split.testReference.labels.length > 0 ? concatDatasets([split.testNormal, split.testReference]) : split.testNormal;
  const val = o['max-val'] ? stratifiedSubset(fullVal, { size: Math.min(o['max-val'] as number, fullVal.labels.length), seed: seed + 1 }) : fullVal;
  const refCount = Math.min(o['reference-sample'] as number, split.testReference.labels.length);
  const refSample = refCount > 0 ? stratifiedSubset(split.testReference, { size: refCount, seed: seed + 2 }) : null;
  const { testNormal, testAnomaly } = split;
  if (testNormal.labels.length === 0) throw new UsageError(`Expected test images of the normal class(es) ${split.normalClasses.join(', ')} to score and to choose the threshold on but received none`);
  checkScorersFit(scores, scoreOptions, fitSet);
  const config = trainConfig(o, data);
  if (classHeads.length > 0) checkBatchFits(config.batchSize, trainSet.labels.length);
  const device = config.device ?? 'cpu';
  note(`anomaly: normal ${split.normalClasses.join(',')} vs anomaly ${split.anomalyClasses.join(',')}` +
    ` (reference: ${split.referenceClasses.join(',') || 'none'}); ${trainSet.labels.length} training images, ${fitSet.labels.length} normal for fitting,` +
    (valNormal ? ` ${valNormal.labels.length} normal held out,` : '') +
    ` ${testNormal.labels.length} + ${testAnomaly.labels.length} test; ${o.backbone}, ${config.epochs} epochs, batch ${config.batchSize}\n`);

  // --epochs 0 scores the pretrained features as they are; an untrained head's probabilities mean nothing.
  const fittedScores = config.epochs === 0 ? scores.filter((s) => !POSTERIOR_SCORES.includes(s)) : scores;
  if (fittedScores.length < scores.length) note(`anomaly: --epochs 0 trains no head; skipping ${scores.filter((s) => !fittedScores.includes(s)).join(', ')}, which needs its probabilities\n`);
  const figures: Figures = { rows: [], projections: new Map() };
  const headRuns: AnomalyHeadRun[] = [];
  // The detector of the best row so far (by AUROC); written once every row is known.
  let best: { auroc: number; head: string; score: string; detector: AnomalyDetector } | null = null;
  const offer = (auroc: number, head: string, score: string, method: FitMethod): void => {
    if (best && best.auroc >= auroc) return;
    const detector = fitDetector({
      method, normal: fitSet, validation: testNormal, calibration: valNormal ?? undefined, anomalies: testAnomaly, classes: trainSet.classes, normalClassCount: split.normalClassCount,
      referenceClasses: split.referenceClasses, normalization: config.normalization, threshold: thresholdRule, source: source ? resolve(source) : 'default', device,
      resize: data.input.resize?.fit,
    });
    best?.detector.dispose();
    best = { auroc, head, score, detector };
  };
  let interrupted = false;
  const stop = commandInterrupt.signal;
  commandInterrupt.beginStoppableWork();
  try {
    for (const name of ownHeads) {
      // distributed: ranks stop together through the votes inside train(), never on their own signal
      if (!dp && stop.aborted) {
        interrupted = true;
        break;
      }
      const oneClass = name === ONE_CLASS_ROTATION ? buildOneClassRotation(o, data.input) : null;
      const { model, head } = oneClass ?? buildModel(o, name, trainSet.classes.length, data.input);
      const aux = oneClass ? null : auxiliaryRotation(o, model);
      try {
        await loadPretrainedWeights(o, model);
        const r = await train({ model, head, train: oneClass ? fitSet : trainSet, val: oneClass ? rotatedDataset(valNormal!) : val, config, dir: join(out, 'checkpoints', name),
          resume: o.resume as boolean, label: name, modelSpec: modelSpec(o, data.input), task: oneClass?.task ?? aux?.task, signal: stop, distributed: dp });
        if (r.interrupted) {
          note(`anomaly: stopped during '${name}'; results so far written. Resume with the same command plus --resume.\n`);
          interrupted = true;
          break;
        }
        if (!root) continue; // distributed: the other ranks go on to train the next head
        headRuns.push({ name, config: head.config(), best_val_acc: r.bestValAcc, best_epoch: r.bestEpoch, final_val_acc: r.finalValAcc, train_seconds: r.trainSeconds, history: r.history });
        // The one-class model's head predicts rotations, not classes: the class-logit scores do not apply to it.
        const registryScores = scores.filter((s) => !QUALITY_SCORES.includes(s) && !(oneClass && POSTERIOR_SCORES.includes(s)));
        const tta = o.tta as TestTimeAugmentation;
        const optionsOf = (s: string): Record<string, unknown> => (s === 'normal-prob' || s === 'normal-logit' ? { normalClassCount: split.normalClassCount } : scoreOptions[s] ?? {});
        // Every row of this head, for the detector file: the best one is saved, whatever kind of score it is.
        const candidates: Array<{ score: string; auroc: number; components?: string[] }> = [];
        const evaluation = evaluateHead(model, head, { fit: fitSet, testNormal, testAnomaly, reference: refSample }, {
          scorers: registryScores.filter((s) => fittedScores.includes(s)).map((s) => ({ name: s, options: optionsOf(s) })),
          normalization: config.normalization, device, tta,
        });
        for (const s of evaluation.skipped) process.stderr.write(`anomaly: skipping '${s.score}' for '${name}', which has no class logits\n`);
        if (oneClass) for (const s of scores.filter((x) => POSTERIOR_SCORES.includes(x))) process.stderr.write(`anomaly: skipping '${s}' for '${name}', which has no class logits\n`);
        for (const row of evaluation.rows) {
          addRow(figures, { head: name, score: row.score, scoreOptions: scoreOptions[row.score], trainSeconds: r.trainSeconds, bestValAcc: r.bestValAcc }, row.normal, row.anomaly);
          candidates.push({ score: row.score, auroc: row.metrics.auroc });
        }
        // Rotation, Mahalanobis at several depths and fusion: fitted on the normal training images, normalised on the held-out normals.
        const networkScores = scores.filter((s) => QUALITY_SCORES.includes(s));
        if (networkScores.length > 0) {
          const n = testNormal.labels.length;
          const scored = computeScores({ model, head: oneClass ? null : head, rotationHead: oneClass?.head ?? aux?.rotationHead ?? null },
            { fit: fitSet, validation: valNormal, test: concatTest(testNormal, testAnomaly), normalClassCount: split.normalClassCount }, networkScores,
            { norm: config.normalization, device, scoreOptions, fuse: o.fuse as string[], depths, tta,
              onSkip: (score, why) => process.stderr.write(`anomaly: skipping '${score}' for '${name}': ${why}\n`) });
          for (const x of scored) {
            addRow(figures, { head: name, score: x.score, scoreOptions: scoreOptions[x.score], trainSeconds: r.trainSeconds, bestValAcc: r.bestValAcc }, x.values.slice(0, n), x.values.slice(n), x);
            candidates.push({ score: x.score, auroc: figures.rows[figures.rows.length - 1].row.auroc, components: x.score === 'fusion' ? x.components : undefined });
          }
        }
        figures.projections.set(name, evaluation.projection);
        // The first best row (in the table's order) becomes the detector candidate of this head.
        const top = candidates.reduce<(typeof candidates)[number] | undefined>((a, c) => (!a || c.auroc > a.auroc ? c : a), undefined);
        if (top) {
          offer(top.auroc, name, top.score, {
            kind: 'embedding', model, backbone: modelSpec(o, data.input), head, rotationHead: oneClass ? null : aux?.rotationHead ?? null,
            scorer: top.score, scorerOptions: optionsOf(top.score), tta, depths: depths ?? undefined,
            components: top.components?.map((c) => ({ name: c, options: optionsOf(c) })),
          });
        }
      } finally {
        model.dispose();
        head.dispose();
        aux?.rotationHead.dispose();
      }
    }

    let autoencoder: AnomalyResults['autoencoder'];
    if (ownAutoencoder && !interrupted && (dp || !stop.aborted)) {
      const normalOnly = o['ae-normal-only'] as boolean;
      const aeTrain = normalOnly ? fitSet : trainSet;
      manualSeed(seed);
      const ae = new ConvAutoencoder({ inChannels: trainSet.channels });
      try {
        if (device !== 'cpu') ae.to(device);
        const dir = join(out, 'checkpoints', 'autoencoder');
        const r = await trainAutoencoder({ model: ae, train: aeTrain, epochs: config.epochs, batchSize: config.batchSize, lr: o['ae-lr'] as number, seed, device, dir, resume: o.resume as boolean, signal: stop, distributed: dp });
        if (r.interrupted) {
          note('anomaly: stopped during the autoencoder; results so far written. Resume with the same command plus --resume.\n');
          interrupted = true;
        } else if (root) {
          const normal = reconstructionErrors(ae, testNormal, { device });
          const anomaly = reconstructionErrors(ae, testAnomaly, { device });
          addRow(figures, { head: 'autoencoder', score: 'reconstruction', trainSeconds: r.trainSeconds, bestValAcc: null }, normal, anomaly);
          offer(figures.rows[figures.rows.length - 1].row.auroc, 'autoencoder', 'reconstruction', { kind: 'autoencoder', autoencoder: ae });
          autoencoder = { normal_only: normalOnly, n_train: aeTrain.labels.length, lr: o['ae-lr'] as number, train_seconds: r.trainSeconds, history: r.history };
        }
      } finally {
        ae.dispose();
      }
    }

    let detector: AnomalyResults['detector'];
    const chosen = best as { auroc: number; head: string; score: string; detector: AnomalyDetector } | null;
    if (chosen) {
      const path = headChild ? `${headChild.resultPath}${DETECTOR_EXTENSION}` : join(out, `detector${DETECTOR_EXTENSION}`);
      await chosen.detector.save(path);
      const m = chosen.detector.manifest;
      detector = { path, head: chosen.head, score: chosen.score, threshold: m.threshold, validation: m.validation };
    }

    const results: AnomalyResults = {
      schema: 'deepmetric/anomaly-results/1',
      ...runInfo(['anomaly', ...argv], o),
      dataset: { source: source ? resolve(source) : 'default', classes: fullTrain.classes },
      protocol: {
        normal: split.normalClasses, anomaly: split.anomalyClasses, reference: split.referenceClasses,
        n_train: trainSet.labels.length, n_fit: fitSet.labels.length, n_val: val.labels.length,
        n_test_normal: testNormal.labels.length, n_test_anomaly: testAnomaly.labels.length, model: 'final epoch',
        ...(valNormal ? { n_holdout_normal: valNormal.labels.length } : {}),
      },
      config: { backbone: o.backbone, alpha: o.alpha, ...config, scores, score_options: scoreOptions, baseline: withAutoencoder ? 'autoencoder' : null,
        aux: (o.aux as string[] | undefined) ?? [], aux_weight: o.aux ? o['aux-weight'] : null, tta: o.tta, fuse: scores.includes('fusion') ? o.fuse : null,
        depths: scores.includes('mahalanobis-depths') ? (depths ?? 'auto') : null, holdout_normal: valNormal ? o['holdout-normal'] : null },
      results: figures.rows.map((r) => r.row),
      heads: headRuns,
      ...(autoencoder ? { autoencoder } : {}),
      ...(detector ? { detector } : {}),
      ...(interrupted ? { interrupted } : {}),
    };
    if (!root) return results; // distributed: rank 0 alone writes
    if (headChild) { // --parallel-heads: the parent gathers and writes
      const payload: HeadPayload = { results, figures: { rows: figures.rows, projections: [...figures.projections] }, auroc: chosen?.auroc ?? null };
      await writeFileAtomic(headChild.resultPath, JSON.stringify(payload));
      return results;
    }
    await writeAnomalyOutputs(out, results, figures);
    printSummary(out, results);
    return results;
  } finally {
    (best as { detector: AnomalyDetector } | null)?.detector.dispose();
  }
}

/** The job name of the autoencoder baseline's process with --parallel-heads. */
const AUTOENCODER_JOB = 'autoencoder';

/** What one head's process hands back with --parallel-heads. */
interface HeadPayload {
  results: AnomalyResults;
  figures: { rows: Figures['rows']; projections: Array<[string, Figures['projections'] extends Map<string, infer V> ? V : never]> };
  /** AUROC of its detector candidate (saved next to the payload), or null when it has none. */
  auroc: number | null;
}

/**
 * --parallel-heads: every head (and the autoencoder) in its own process at once; rows, figures and
 * the best detector gathered in the order a sequential run produces them.
 */
async function anomalyHeadsInParallel(argv: string[], o: ParsedOptions, plan: AnomalyPlan): Promise<AnomalyResults> {
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
  const figures: Figures = { rows: payloads.flatMap((p) => p.figures.rows), projections: new Map(payloads.flatMap((p) => p.figures.projections)) };
  if (run.interrupted) {
    process.exitCode = 130;
    process.stderr.write('anomaly: stopped; results so far written. Resume with the same command plus --resume.\n');
  }
  await writeAnomalyOutputs(out, results, figures);
  printSummary(out, results);
  return results;
}

function printSummary(out: string, results: AnomalyResults): void {
  const { detector } = results;
  process.stdout.write(`${resultTable(results.results)}\n\nWrote ${join(out, 'anomaly.json')}, roc, scores and embedding .svg/.png, and report.html\n`);
  if (detector) {
    process.stdout.write(`Wrote ${detector.path} (${detector.head} · ${detector.score}, threshold ${detector.threshold.value.toPrecision(4)}: ` +
      `${(detector.validation.fpr * 100).toFixed(1)}% of normal test images and ${((detector.validation.tpr ?? NaN) * 100).toFixed(1)}% of anomalies above it); ` +
      `score new images with: deepmetric score --detector ${detector.path} IMAGES…\n`);
  }
}

/** --threshold-fpr / --threshold-tpr as a library threshold rule. */
export function thresholdRuleOf(o: ParsedOptions): ThresholdRule {
  const fpr = o['threshold-fpr'] as number | undefined;
  const tpr = o['threshold-tpr'] as number | undefined;
  if (fpr !== undefined && tpr !== undefined) throw new UsageError('Expected either --threshold-fpr or --threshold-tpr, not both');
  if (fpr !== undefined && !(fpr >= 0 && fpr < 1)) throw new UsageError(`Expected a fraction in [0, 1) for --threshold-fpr but received '${fpr}'`);
  if (tpr !== undefined && !(tpr > 0 && tpr <= 1)) throw new UsageError(`Expected a fraction in (0, 1] for --threshold-tpr but received '${tpr}'`);
  return fpr !== undefined ? { fpr } : tpr !== undefined ? { tpr } : {};
}

function addRow(figures: Figures, r: { head: string; score: string; scoreOptions?: Record<string, unknown>; trainSeconds: number; bestValAcc: number | null }, normal: number[], anomaly: number[], extra?: NetworkScore): void {
  const metrics = anomalyMetrics(normal, anomaly);
  const row: AnomalyRow = {
    head: r.head, score: r.score, ...(r.scoreOptions && Object.keys(r.scoreOptions).length > 0 ? { score_options: r.scoreOptions } : {}),
    auroc: metrics.auroc, aupr: metrics.aupr, fpr_at_95_tpr: metrics.fpr_at_95_tpr, n_normal: metrics.n_normal, n_anomaly: metrics.n_anomaly,
    train_seconds: r.trainSeconds, best_val_acc: r.bestValAcc,
    ...(extra?.components ? { components: extra.components, normalization: extra.normalization } : {}),
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

/**
 * --seeds: the whole protocol once per seed, each in OUT/seed-N with all its outputs; then OUT/anomaly.json
 * holds every seed's rows (tagged with their seed) and, per head × score, mean ± std over the seeds.
 */
async function runSeeds(argv: string[], o: ParsedOptions, seeds: number[], dp: DataParallel | null): Promise<AnomalyResults> {
  const out = resolve(o.out as string);
  // distributed: the launcher holds --out for its workers
  const lock = dp ? null : lockOutputFolder(out, { what: '--out', command: ['deepmetric anomaly', ...argv].join(' ') });
  try {
    return await runSeedsInFolder(argv, o, seeds, out, dp);
  } finally {
    lock?.release();
  }
}

async function runSeedsInFolder(argv: string[], o: ParsedOptions, seeds: number[], out: string, dp: DataParallel | null): Promise<AnomalyResults> {
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

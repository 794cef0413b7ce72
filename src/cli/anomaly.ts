// `deepmetric anomaly`: the flags → the protocol's typed spec (src/anomaly/protocol.ts runs it), the
// execution modes (distributed launcher and worker, --parallel-heads, --seeds: anomaly-runs.ts), and
// the writing and printing of the results (src/anomaly/outputs.ts).
import { join, resolve } from 'node:path';
import type { NormalizationName } from '../data/normalization.js';
import { loadCommandData, sourceLabel } from './data-options.js';
import { DETECTOR_EXTENSION } from '../anomaly/anomaly-detector.js';
import { runAnomaly } from '../anomaly/protocol.js';
import type { AnomalyResults } from '../anomaly/results.js';
import { writeAnomalyOutputs } from '../anomaly/outputs.js';
import { parseScoreOptions } from '../anomaly/score-options.js';
import { scoreHelp, scoreIsKind, scoreNames, scoreNeeds } from '../anomaly/scores/registry.js';
import type { TestTimeAugmentation } from '../anomaly/rotation/rotation-score.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { type CommandSpec, parseOptions, type ParsedOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime, checkHeadNames, modelOptions, modelSpec, parseHeadOptions, trainConfig } from './experiment.js';
import { runInfo } from './run-info.js';
import { commandInterrupt } from './interrupt.js';
import { lockOutputFolder } from '../util/output-lock.js';
// Anomaly quality (issue 14): rotation self-supervision, network scores, fusion, flip TTA, seeds.
import { ONE_CLASS_ROTATION, QUALITY_OPTIONS, THRESHOLD_OPTIONS, auxRotationOf, parseDepths, parseSeeds, thresholdRuleOf } from './anomaly-quality.js';
import { anomalyHeadsInParallel, printSummary, runSeeds, type HeadPayload } from './anomaly-runs.js';
// Data-parallel training (issue 16): --nproc etc.; rank 0 alone fits the scorers, evaluates and writes.
import { DISTRIBUTED_OPTIONS, joinIfWorker, launchIfRequested, launcherOutcome } from './distributed-options.js';
import { readDistributedEnv } from '../distributed/environment.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { PARALLEL_HEADS_OPTION, parallelHeadChild, wantsParallelHeads } from './parallel-heads.js';

export type { AnomalyHeadRun, AnomalyResults, AnomalyRow } from '../anomaly/results.js';

export const anomalySpec: CommandSpec = {
  name: 'anomaly',
  summary: 'Anomaly detection: train on normal + reference classes, score normal vs anomaly test images (AUROC), optionally vs an autoencoder',
  usage: 'deepmetric anomaly --normal CLASS --anomaly CLASS [options]',
  options: {
    normal: { type: 'list', description: 'Normal class(es), by name or index (required)' },
    anomaly: { type: 'list', description: 'Anomaly class(es), by name or index; never trained on (required unless some test classes have no training images, e.g. MVTec test/<defect>/: then those)' },
    reference: { type: 'list', description: 'Labelled classes trained on besides the normal ones (default: every class neither normal nor anomaly)' },
    heads: { type: 'list', default: ['softmax', 'l2softmax'], description: "Heads to train and score (any from the losses registry), 'rotation' (a one-class model trained on the normal images only, rotation prediction its only task, GEOM), or 'none' (e.g. with --baseline autoencoder on one-class data)" },
    score: { type: 'list', default: ['knn'], choices: scoreNames(), description: `Anomaly scores, each fitted on the normal training images: ${scoreHelp()}` },
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
    const results = seeds ? await runSeeds(argv, o, seeds, dp, anomalyRun) : await anomalyRun(argv, o, dp);
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
  const scoreOptions = parseScoreOptions(o['score-options'] as string | undefined, scores);
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
    if (wantsParallelHeads(o)) return await anomalyHeadsInParallel(argv, o, { ...plan, out });
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
  const { heads, scores, scoreOptions, depths, withAutoencoder, thresholdRule, out, dp } = plan;
  const root = !dp || dp.isRoot; // distributed: rank 0 alone writes
  // --parallel-heads: this process trains one head (or the autoencoder); the data split is the whole run's
  const headChild = parallelHeadChild();
  const data = await loadCommandData(o, undefined, o.normalize as NormalizationName);
  const training = trainConfig(o, data);
  const run = await runAnomaly({
    data, source: sourceLabel(o), normal: o.normal as string[], anomaly: o.anomaly as string[] | undefined, reference: o.reference as string[] | undefined,
    heads, scores, scoreOptions, fuse: o.fuse as string[], depths, tta: o.tta as TestTimeAugmentation, threshold: thresholdRule,
    model: { ...modelOptions(o), headOptions: parseHeadOptions(o) }, auxRotation: auxRotationOf(o), weights: o.weights as string | undefined,
    training, seed: o.seed as number, maxTrain: o['max-train'] as number | undefined, maxVal: o['max-val'] as number | undefined,
    holdoutNormal: o['holdout-normal'] as number, referenceSample: o['reference-sample'] as number,
    autoencoder: withAutoencoder ? { normalOnly: o['ae-normal-only'] as boolean, lr: o['ae-lr'] as number } : null,
    checkpoints: join(out, 'checkpoints'), resume: o.resume as boolean, signal: commandInterrupt.signal, onStoppable: () => commandInterrupt.beginStoppableWork(),
    distributed: dp, only: headChild?.head,
  });
  const chosen = run.detector;
  try {
    let detector: AnomalyResults['detector'];
    if (chosen) {
      const path = headChild ? `${headChild.resultPath}${DETECTOR_EXTENSION}` : join(out, `detector${DETECTOR_EXTENSION}`);
      await chosen.detector.save(path);
      const m = chosen.detector.manifest;
      detector = { path, head: chosen.head, score: chosen.score, threshold: m.threshold, validation: m.validation };
    }
    const heldOut = run.protocol.n_holdout_normal !== undefined;
    const results: AnomalyResults = {
      schema: 'deepmetric/anomaly-results/1',
      ...runInfo(['anomaly', ...argv], o),
      dataset: run.dataset,
      protocol: run.protocol,
      config: { backbone: o.backbone, alpha: o.alpha, ...training, scores, score_options: scoreOptions, baseline: withAutoencoder ? 'autoencoder' : null,
        aux: (o.aux as string[] | undefined) ?? [], aux_weight: o.aux ? o['aux-weight'] : null, tta: o.tta, fuse: scores.some((s) => scoreIsKind(s, 'fusion')) ? o.fuse : null,
        depths: scores.some((s) => scoreNeeds(s, 'layers')) ? (depths ?? 'auto') : null, holdout_normal: heldOut ? o['holdout-normal'] : null },
      results: run.rows,
      heads: run.heads,
      ...(run.autoencoder ? { autoencoder: run.autoencoder } : {}),
      ...(detector ? { detector } : {}),
      ...(run.interrupted ? { interrupted: true } : {}),
    };
    if (!root) return results; // distributed: rank 0 alone writes
    if (headChild) { // --parallel-heads: the parent gathers and writes
      const payload: HeadPayload = { results, figures: { rows: run.figures.rows, projections: [...run.figures.projections] }, auroc: chosen?.auroc ?? null };
      await writeFileAtomic(headChild.resultPath, JSON.stringify(payload));
      return results;
    }
    await writeAnomalyOutputs(out, results, run.figures);
    printSummary(out, results);
    return results;
  } finally {
    chosen?.detector.dispose();
  }
}

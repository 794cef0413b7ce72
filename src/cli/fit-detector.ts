// `deepmetric fit-detector`: from normal images (plus optional labelled reference classes) to a
// saved detector, without anomaly images: train the method, fit the scorer on the normal training
// images, choose the threshold on held-out normal images, write DIR/detector.dmdet.
import { closeSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { materializeDataset } from '../data/cache/file-image-dataset.js';
import type { NormalizationName } from '../data/normalization.js';
import { loadCommandData } from './data-options.js';
import { stratifiedSubset } from '../data/splits.js';
import { holdOutNormals, type NormalHoldout } from '../anomaly/normal-holdout.js';
import { concatDatasets, subsetDataset, type ImageDataset } from '../data/dataset.js';
import { manualSeed } from '../tensor/creation.js';
import { HEAD_NAMES } from '../losses/registry.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { train } from '../train/trainer.js';
import { trainAutoencoder } from '../anomaly/train-autoencoder.js';
import { fitDetector, oneClassProblem, ONE_CLASS_METHODS } from '../anomaly/fit-detector.js';
import { DETECTOR_EXTENSION, type AnomalyDetector, type DetectorManifest } from '../anomaly/anomaly-detector.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { formatTable } from '../util/table.js';
import { type CommandSpec, parseOptions, type ParsedOptions, runDescription, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime, buildModel, checkBatchFits, loadPretrainedWeights, modelSpec, trainConfig } from './experiment.js';
import { openInputFileSync } from '../util/input-file.js';
import { parseScoreOptions } from '../anomaly/score-options.js';
import { scoreHelp, scoreIsKind, scoreNames, scoreNeeds } from '../anomaly/scores/registry.js';
import { splitForAnomaly } from '../anomaly/split.js';
import { ONE_CLASS_ROTATION, QUALITY_OPTIONS, THRESHOLD_OPTIONS, auxiliaryRotation, buildOneClassRotation, parseDepths, thresholdRuleOf } from './anomaly-quality.js';
import { rotatedDataset } from '../anomaly/rotation/rotated-dataset.js';
import type { TestTimeAugmentation } from '../anomaly/rotation/rotation-score.js';
import { commandInterrupt } from './interrupt.js';
// Data-parallel training (issue 16): --nproc etc.; rank 0 alone fits the scorer and writes the detector.
import { DISTRIBUTED_OPTIONS, joinIfWorker, launchIfRequested, launcherOutcome } from './distributed-options.js';
import { readDistributedEnv } from '../distributed/environment.js';
import type { DataParallel } from '../distributed/data-parallel.js';

const METHODS = [...HEAD_NAMES, ...ONE_CLASS_METHODS];

export const fitDetectorSpec: CommandSpec = {
  name: 'fit-detector',
  summary: 'Fit an anomaly detector on normal images (and optional reference classes) and save it for deepmetric score',
  usage: 'deepmetric fit-detector --data DIR --normal CLASS [options]',
  options: {
    normal: { type: 'list', description: 'Normal class(es), by folder name or index (required)' },
    reference: { type: 'list', description: 'Labelled classes the head learns to tell apart from the normal ones (default: every other class with training images); never called normal' },
    method: { type: 'string', default: 'l2softmax', choices: METHODS, description: `A head from the losses registry (needs normal + reference classes), or ${ONE_CLASS_METHODS.join(', ')} (learns from normal images alone)` },
    score: { type: 'string', choices: scoreNames(), description: `Anomaly score, fitted on the normal training images (default knn; rotation for --method rotation; the autoencoder scores by reconstruction error): ${scoreHelp()}` },
    'score-options': { type: 'string', description: 'JSON options of the score, e.g. {"knn":{"k":10}}' },
    ...THRESHOLD_OPTIONS,
    'ae-lr': { type: 'number', default: 1e-3, description: 'Adam learning rate of the autoencoder' },
    aux: QUALITY_OPTIONS.aux,
    'aux-weight': QUALITY_OPTIONS['aux-weight'],
    fuse: QUALITY_OPTIONS.fuse,
    depths: QUALITY_OPTIONS.depths,
    tta: QUALITY_OPTIONS.tta,
    out: { type: 'string', default: 'runs/detector', description: `Output folder: detector${DETECTOR_EXTENSION}, detector.json (its manifest), checkpoints` },
    ...TRAINING_OPTIONS,
    ...DISTRIBUTED_OPTIONS,
  },
  examples: [
    'deepmetric fit-detector --data photos/ --normal good --method autoencoder --epochs 30 --out runs/detector',
    'deepmetric fit-detector --normal cat --method l2softmax --epochs 10 --max-train 10000 --out runs/cat-detector',
    'deepmetric fit-detector --data mvtec/bottle --normal good --method rotation --score fusion --fuse rotation,knn --tta flip --epochs 20 --out runs/bottle',
  ],
};

const VALIDATION_FRACTION = 0.2;

/** Held-out normal images: the normal test images, or (when the test split has none) a seeded 20% of the normal training images, removed from training. */
function thresholdImages(trainSet: ImageDataset, testNormal: ImageDataset, normalClassCount: number, seed: number): NormalHoldout {
  if (testNormal.labels.length > 0) return { train: trainSet, validation: testNormal };
  try {
    return holdOutNormals(trainSet, normalClassCount, VALIDATION_FRACTION, seed);
  } catch (e) {
    throw new UsageError(`Expected enough normal training images to hold ${VALIDATION_FRACTION * 100}% out for the threshold: ${(e as Error).message}`);
  }
}

/** Scores the trained network cannot give are usage errors before any training. */
function checkScoreFitsMethod(method: string, scores: readonly string[], o: ParsedOptions): void {
  if (method === 'autoencoder') return;
  const hasRotationHead = method === ONE_CLASS_ROTATION || ((o.aux as string[] | undefined) ?? []).includes('rotation');
  if (scores.some((s) => scoreNeeds(s, 'rotationHead')) && !hasRotationHead) throw new UsageError(`Expected --aux rotation (or --method ${ONE_CLASS_ROTATION}) for the rotation score: '${method}' alone has no rotation head`);
  const logit = scores.filter((s) => scoreNeeds(s, 'logits'));
  if (method === ONE_CLASS_ROTATION && logit.length > 0) throw new UsageError(`Expected a score of the embeddings or rotation for --method ${ONE_CLASS_ROTATION} (it has no class logits) but received ${logit.join(', ')}`);
  if (method === ONE_CLASS_ROTATION && o.aux !== undefined) throw new UsageError(`Expected no --aux with --method ${ONE_CLASS_ROTATION}: rotation is already its only task`);
}

export interface FitDetectorResults {
  path: string;
  /** The detector's manifest; after a data-parallel run, as detector.json holds it (neighbour lists summarised). Absent on ranks other than 0. */
  manifest: DetectorManifest;
}

/** The manifest without the per-image lists, for detector.json and the summary. */
function manifestSummary(m: DetectorManifest): Record<string, unknown> {
  return { ...m, neighbours: { metric: m.neighbours.metric, count: m.neighbours.count, has_names: m.neighbours.names !== null, images: m.neighbours.images } };
}

export async function fitDetectorCommand(argv: string[], o: ParsedOptions = parseOptions(fitDetectorSpec, argv)): Promise<FitDetectorResults> {
  if (!o.normal) throw new UsageError('Expected --normal CLASS (a class name or index) but received none');
  const method = o.method as string;
  const score = (o.score as string | undefined) ?? (method === ONE_CLASS_ROTATION ? 'rotation' : 'knn');
  if (method === 'autoencoder' && o.score !== undefined) throw new UsageError('Expected no --score with --method autoencoder (it scores by reconstruction error)');
  const components = scoreIsKind(score, 'fusion') ? o.fuse as string[] : [score];
  const scoreOptions = parseScoreOptions(o['score-options'] as string | undefined, [score, ...components]);
  checkScoreFitsMethod(method, components, o);
  const thresholdRule = thresholdRuleOf(o);
  if (thresholdRule.tpr !== undefined) {
    throw new UsageError('Expected --threshold-fpr (fit-detector sees no anomaly images); to choose the threshold by true-positive rate use deepmetric anomaly … --threshold-tpr T');
  }
  if (o.weights !== undefined) {
    if (method === 'autoencoder') throw new UsageError('Expected no --weights with --method autoencoder (it has no backbone to load them into)');
    // Before any data is read or trained on: a missing file, a FIFO or a device is an error at once.
    closeSync(openInputFileSync(resolve(o.weights as string), { what: 'weights' }).fd);
  }
  const out = resolve(o.out as string);
  if (readDistributedEnv() === null && ((o.nproc as number) > 1 || (o.nnodes as number) > 1)) {
    // distributed: this process only launches the workers, which rerun this command
    mkdirSync(out, { recursive: true });
    commandInterrupt.beginStoppableWork(); // Ctrl-C reaches the workers, which stop together; wait for them
    const launched = await launchIfRequested(o, 'fit-detector', argv);
    const manifest = launcherOutcome<DetectorManifest>(launched!, join(out, 'detector.json'));
    return { path: join(out, `detector${DETECTOR_EXTENSION}`), manifest };
  }
  // distributed: null unless this process is one rank of several (then it must match the others)
  const dp = joinIfWorker(o, { normal: o.normal, reference: o.reference ?? null, method, model: modelSpec(o), config: trainConfig(o) });
  try {
    const results = await fitDetectorInProcess(o, { method, score, scoreOptions, thresholdRule, out, dp });
    dp?.close(true);
    return results;
  } finally {
    dp?.close(); // safe twice; after an error it leaves at once
  }
}

interface FitPlan {
  method: string;
  score: string;
  scoreOptions: Record<string, Record<string, unknown>>;
  thresholdRule: ReturnType<typeof thresholdRuleOf>;
  out: string;
  dp: DataParallel | null;
}

async function fitDetectorInProcess(o: ParsedOptions, { method, score, scoreOptions, thresholdRule, out, dp }: FitPlan): Promise<FitDetectorResults> {
  const root = !dp || dp.isRoot; // distributed: rank 0 alone fits the scorer, prints and writes
  applyRuntime(o);
  mkdirSync(out, { recursive: true });
  const source = o.data as string | undefined;
  const seed = o.seed as number;
  const data = await loadCommandData(o, undefined, o.normalize as NormalizationName);
  const fullTrain = materializeDataset(data.train);
  const fullTest = materializeDataset(data.test);

  // Roles: the anomaly "classes" are every class neither normal nor reference; fit-detector never reads them.
  const classes = fullTrain.classes;
  const labelOf = (t: string): number => (classes.includes(t) || !/^\d+$/.test(t) ? classes.indexOf(t) : Number(t));
  const normal = new Set((o.normal as string[]).map(labelOf));
  const counts = new Array<number>(classes.length).fill(0);
  for (const l of fullTrain.labels) counts[l]++;
  const reference = o.reference ? new Set((o.reference as string[]).map(labelOf)) : new Set(classes.map((_, i) => i).filter((i) => !normal.has(i) && counts[i] > 0));
  const ignored = classes.filter((_, i) => !normal.has(i) && !reference.has(i));
  const split = splitForAnomaly(fullTrain, fullTest, { normal: o.normal as string[], reference: (o.reference as string[] | undefined) ?? [...reference].map((l) => classes[l]), anomaly: ignored });
  if (split.train.labels.length === 0 || counts.every((c, i) => !normal.has(i) || c === 0)) {
    throw new UsageError(`Expected training images of the normal class(es) ${split.normalClasses.join(', ')} but received none`);
  }
  const subset = o['max-train'] ? stratifiedSubset(split.train, { size: Math.min(o['max-train'] as number, split.train.labels.length), seed }) : split.train;
  const testNormal = o['max-val'] && split.testNormal.labels.length > (o['max-val'] as number) ? stratifiedSubset(split.testNormal, { size: o['max-val'] as number, seed: seed + 1 }) : split.testNormal;
  const { train: trainSet, validation } = thresholdImages(subset, testNormal, split.normalClassCount, seed);
  const problem = oneClassProblem(method, trainSet.classes);
  if (problem) throw new UsageError(`Expected a method that can learn from these classes: ${problem} (--reference)`);
  const fitSet = subsetDataset(trainSet, [...trainSet.labels.keys()].filter((i) => trainSet.labels[i] < split.normalClassCount));
  const config = trainConfig(o, data);
  const device = config.device ?? 'cpu';
  if (method !== 'autoencoder') checkBatchFits(config.batchSize, (method === ONE_CLASS_ROTATION ? fitSet : trainSet).labels.length);
  if (root) process.stderr.write(`fit-detector: normal ${split.normalClasses.join(',')} (reference: ${split.referenceClasses.join(',') || 'none'}); ` +
    `${method === 'autoencoder' ? fitSet.labels.length : trainSet.labels.length} training images, ${fitSet.labels.length} normal for fitting, ${validation.labels.length} held-out normal for the threshold\n`);

  let detector: AnomalyDetector;
  commandInterrupt.beginStoppableWork();
  const common = {
    normal: fitSet, validation, classes: trainSet.classes, normalClassCount: split.normalClassCount, referenceClasses: split.referenceClasses,
    normalization: config.normalization, threshold: thresholdRule, source: source ? resolve(source) : 'default', device,
    resize: data.input.resize?.fit,
  };
  if (method === 'autoencoder') {
    manualSeed(seed);
    const ae = new ConvAutoencoder({ inChannels: fitSet.channels });
    try {
      if (device !== 'cpu') ae.to(device);
      const r = await trainAutoencoder({ model: ae, train: fitSet, epochs: config.epochs, batchSize: config.batchSize, lr: o['ae-lr'] as number, seed, device, dir: join(out, 'checkpoints', 'autoencoder'), resume: o.resume as boolean, signal: commandInterrupt.signal, distributed: dp });
      if (r.history.length < config.epochs) throw new Error('fit-detector: training stopped early; run the same command with --resume');
      if (!root) return { path: join(out, `detector${DETECTOR_EXTENSION}`), manifest: undefined as unknown as DetectorManifest };
      detector = fitDetector({ ...common, method: { kind: 'autoencoder', autoencoder: ae } });
    } finally {
      ae.dispose();
    }
  } else {
    // The one-class rotation model trains on the normal images alone and validates on the held-out normals' rotations.
    const oneClass = method === ONE_CLASS_ROTATION ? buildOneClassRotation(o, data.input) : null;
    const { model, head } = oneClass ?? buildModel(o, method, trainSet.classes.length, data.input);
    const aux = oneClass ? null : auxiliaryRotation(o, model);
    try {
      await loadPretrainedWeights(o, model);
      const val = oneClass ? rotatedDataset(validation)
        : split.testReference.labels.length > 0 && validation === testNormal ? concatDatasets([validation, split.testReference]) : validation;
      const r = await train({ model, head, train: oneClass ? fitSet : trainSet, val, config, dir: join(out, 'checkpoints', method), resume: o.resume as boolean, label: method,
        modelSpec: modelSpec(o, data.input), task: oneClass?.task ?? aux?.task, signal: commandInterrupt.signal, distributed: dp });
      if (r.interrupted) throw new Error(`fit-detector: stopped during '${method}'; run the same command with --resume`);
      if (!root) return { path: join(out, `detector${DETECTOR_EXTENSION}`), manifest: undefined as unknown as DetectorManifest };
      const optionsOf = (s: string) => (scoreNeeds(s, 'normalClasses') ? { normalClassCount: split.normalClassCount } : scoreOptions[s] ?? {});
      detector = fitDetector({ ...common, method: {
        kind: 'embedding', model, backbone: modelSpec(o, data.input), head, rotationHead: aux?.rotationHead ?? null, scorer: score, scorerOptions: optionsOf(score),
        tta: o.tta as TestTimeAugmentation, depths: parseDepths(o), components: scoreIsKind(score, 'fusion') ? (o.fuse as string[]).map((c) => ({ name: c, options: optionsOf(c) })) : undefined,
      } });
    } finally {
      model.dispose();
      head.dispose();
      aux?.rotationHead.dispose();
    }
  }
  try {
    const path = join(out, `detector${DETECTOR_EXTENSION}`);
    await detector.save(path);
    const m = detector.manifest;
    // detector.json also records the run's resolved options (the .dmdet file's manifest has no place for them)
    await writeFileAtomic(join(out, 'detector.json'), `${JSON.stringify({ ...manifestSummary(m), run: runDescription(o) }, null, 2)}\n`);
    const q = m.validation.normal_score_quantiles;
    process.stdout.write(`${formatTable([{ normal: m.normal_classes.join(','), method: method === 'autoencoder' ? 'autoencoder' : `${method} · ${score}`, n_fit: m.dataset.n_fit,
      n_validation: m.validation.n_normal, threshold: m.threshold.value, validation_fpr: m.validation.fpr, p50: q.p50, p99: q.p99 }], { digits: 4 })}\n\n` +
      `Wrote ${path} and detector.json. Score new images with: deepmetric score --detector ${path} IMAGES…\n`);
    return { path, manifest: m };
  } finally {
    detector.dispose();
  }
}

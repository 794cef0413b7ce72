// The anomaly protocol: one class (or several) is normal, others the anomaly. Each head is trained
// on the normal and reference classes (never on anomaly images), each scorer is fitted on the
// embeddings of the normal training images only, and the test images of the normal and anomaly
// classes are scored. Optionally the convolutional autoencoder baseline is scored by reconstruction
// error. The best row (by AUROC) is fitted as a detector. Writing and printing are the caller's
// (outputs.ts writes anomaly.json, the charts and report.html).
import { join } from 'node:path';
import { materializeDataset } from '../data/cache/file-image-dataset.js';
import type { LoadedDataset } from '../data/load-dataset.js';
import { stratifiedSubset } from '../data/splits.js';
import { concatDatasets, subsetDataset, type ImageDataset } from '../data/dataset.js';
import { manualSeed } from '../tensor/creation.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { train, type TrainConfig } from '../train/trainer.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { UsageError } from '../errors.js';
import { auxiliaryRotation, backboneSpec, buildModel, checkBatchFits, buildOneClassRotation, loadPretrainedWeights, type ModelOptions, ONE_CLASS_ROTATION } from '../experiment/model.js';
import { evaluateHead } from './evaluate-head.js';
import { fitDetector, oneClassProblem, type FitMethod } from './fit-detector.js';
import type { AnomalyDetector } from './anomaly-detector.js';
import type { ThresholdRule } from './threshold.js';
import { reconstructionErrors, trainAutoencoder } from './train-autoencoder.js';
import { computeScores, concatTest } from './network-scores.js';
import { holdOutNormals } from './normal-holdout.js';
import { rotatedDataset } from './rotation/rotated-dataset.js';
import type { TestTimeAugmentation } from './rotation/rotation-score.js';
import { splitForAnomaly } from './split.js';
import { checkScorersFit, needsNormalHoldout, type ScoreOptions } from './score-options.js';
import { scoreIsKind, scoreNeeds } from './scores/registry.js';
import { addRow, type AnomalyFigures, type AnomalyHeadRun, type AnomalyProtocol, type AnomalyRow, type AutoencoderRun } from './results.js';

/** One run of the protocol, as typed options (the CLI builds it from its flags). */
export interface AnomalySpec {
  /** The loaded data (loadDataset): its training and test splits, input shape and normalisation. */
  data: LoadedDataset;
  /** How results name the data (a resolved path); default 'default'. */
  source?: string;
  /** Classes by name or index (as text). anomaly: default the test-only classes; reference: every other class. */
  normal: readonly string[];
  anomaly?: readonly string[];
  reference?: readonly string[];
  /** Heads of the losses registry, or ONE_CLASS_ROTATION (the one-class rotation model). */
  heads: readonly string[];
  scores: readonly string[];
  scoreOptions?: ScoreOptions;
  /** Components of the 'fusion' score. */
  fuse?: readonly string[];
  /** Layers for 'mahalanobis-depths'; undefined: automatic. */
  depths?: number[];
  tta?: TestTimeAugmentation;
  /** The detector's threshold rule (default: 5% of the normal validation images above it). */
  threshold?: ThresholdRule;
  /** The network; its seed is every head's initialisation. */
  model: ModelOptions;
  /** With an auxiliary rotation task beside every class head, its loss weight. */
  auxRotation?: { weight: number } | null;
  /** Pretrained backbone weights (a file). */
  weights?: string;
  training: TrainConfig;
  /** Seeds the subsets and the hold-out. */
  seed: number;
  maxTrain?: number;
  maxVal?: number;
  /** Fraction of the normal training images held out when a score or the one-class model needs them. */
  holdoutNormal?: number;
  /** Reference test images in the embedding projection. */
  referenceSample?: number;
  /** The autoencoder baseline, or null/undefined for none. */
  autoencoder?: { normalOnly: boolean; lr: number } | null;
  /** Where each head's checkpoints go: DIR/<head>/. */
  checkpoints: string;
  resume?: boolean;
  /** Stops training cleanly (the run then comes back with interrupted: true). */
  signal?: AbortSignal;
  /** Called once the stoppable work (training) begins. */
  onStoppable?: () => void;
  /** This process is one data-parallel rank; rank 0 alone fits the scorers and evaluates. */
  distributed?: DataParallel | null;
  /** Run one job of the protocol only: a head's name, or AUTOENCODER_JOB (the split stays the whole run's). */
  only?: string;
  /** Progress lines (default: standard error). */
  log?: (line: string) => void;
}

/** The job name of the autoencoder baseline (AnomalySpec.only). */
export const AUTOENCODER_JOB = 'autoencoder';

/** The best row's detector (not saved; the caller saves and disposes it). */
export interface BestDetector {
  auroc: number;
  head: string;
  score: string;
  detector: AnomalyDetector;
}

export interface AnomalyRun {
  dataset: { source: string; classes: string[] };
  protocol: AnomalyProtocol;
  rows: AnomalyRow[];
  heads: AnomalyHeadRun[];
  autoencoder?: AutoencoderRun;
  detector?: BestDetector;
  figures: AnomalyFigures;
  interrupted: boolean;
}

/** Runs the protocol (see the file's head). On data-parallel ranks other than 0 the rows stay empty. */
export async function runAnomaly(spec: AnomalySpec): Promise<AnomalyRun> {
  const { data, scores: scoreList, model: modelOptions } = spec;
  const scores = [...scoreList];
  const heads = [...spec.heads];
  const scoreOptions = spec.scoreOptions ?? {};
  const classHeads = heads.filter((h) => h !== ONE_CLASS_ROTATION);
  const dp = spec.distributed ?? null;
  const root = !dp || dp.isRoot; // distributed: rank 0 alone fits the scorers, evaluates and reports
  const ownHeads = spec.only !== undefined ? heads.filter((h) => h === spec.only) : heads;
  const ownAutoencoder = !!spec.autoencoder && (spec.only === undefined || spec.only === AUTOENCODER_JOB);
  const log = spec.log ?? ((line: string) => process.stderr.write(line));
  const note = (line: string): void => { if (root) log(line); };
  const source = spec.source ?? 'default';
  const seed = spec.seed;
  const fullTrain = materializeDataset(data.train);
  const fullTest = materializeDataset(data.test);
  const split = splitForAnomaly(fullTrain, fullTest, { normal: spec.normal, anomaly: spec.anomaly, reference: spec.reference });
  if (split.anomalyClasses.length === 0) {
    throw new UsageError(spec.anomaly ? 'Expected --anomaly classes with test images but received none'
      : 'Expected --anomaly CLASS (a class name or index) but received none (every test class also has training images, so none is an anomaly by default)');
  }
  let trainSet = spec.maxTrain ? stratifiedSubset(split.train, { size: Math.min(spec.maxTrain, split.train.labels.length), seed }) : split.train;
  const headProblem = classHeads.length > 0 ? oneClassProblem(classHeads[0], trainSet.classes) : null;
  if (headProblem) {
    throw new UsageError(`Expected at least 2 training classes (normal + reference) for the heads but received ${trainSet.classes.length} ('${trainSet.classes.join("', '")}'): ` +
      `every head learns by telling classes apart. Add --reference classes, or use a method that learns from normal images alone: --heads ${ONE_CLASS_ROTATION} (the one-class rotation model), or --heads none --baseline autoencoder`);
  }
  // Held-out normal training images: z-normalisation for fusion / mahalanobis-depths, the one-class model's validation.
  let valNormal: ImageDataset | null = null;
  if (needsNormalHoldout(scores, heads)) {
    try {
      ({ train: trainSet, validation: valNormal } = holdOutNormals(trainSet, split.normalClassCount, spec.holdoutNormal ?? 0.1, seed + 3));
    } catch (e) {
      throw new UsageError(`--holdout-normal: ${(e as Error).message}`);
    }
  }
  const isNormal = (label: number): boolean => label < split.normalClassCount;
  const fitSet = subsetDataset(trainSet, [...trainSet.labels.keys()].filter((i) => isNormal(trainSet.labels[i])));
  const fullVal = split.testReference.labels.length > 0 ? concatDatasets([split.testNormal, split.testReference]) : split.testNormal;
  const val = spec.maxVal ? stratifiedSubset(fullVal, { size: Math.min(spec.maxVal, fullVal.labels.length), seed: seed + 1 }) : fullVal;
  const refCount = Math.min(spec.referenceSample ?? 1000, split.testReference.labels.length);
  const refSample = refCount > 0 ? stratifiedSubset(split.testReference, { size: refCount, seed: seed + 2 }) : null;
  const { testNormal, testAnomaly } = split;
  if (testNormal.labels.length === 0) throw new UsageError(`Expected test images of the normal class(es) ${split.normalClasses.join(', ')} to score and to choose the threshold on but received none`);
  checkScorersFit(scores, scoreOptions, fitSet);
  const config = spec.training;
  if (classHeads.length > 0) checkBatchFits(config.batchSize, trainSet.labels.length);
  const device = config.device ?? 'cpu';
  note(`anomaly: normal ${split.normalClasses.join(',')} vs anomaly ${split.anomalyClasses.join(',')}` +
    ` (reference: ${split.referenceClasses.join(',') || 'none'}); ${trainSet.labels.length} training images, ${fitSet.labels.length} normal for fitting,` +
    (valNormal ? ` ${valNormal.labels.length} normal held out,` : '') +
    ` ${testNormal.labels.length} + ${testAnomaly.labels.length} test; ${modelOptions.backbone}, ${config.epochs} epochs, batch ${config.batchSize}\n`);

  // Zero epochs scores the pretrained features as they are; an untrained head's probabilities mean nothing.
  const fittedScores = config.epochs === 0 ? scores.filter((s) => !scoreNeeds(s, 'logits')) : scores;
  if (fittedScores.length < scores.length) note(`anomaly: --epochs 0 trains no head; skipping ${scores.filter((s) => !fittedScores.includes(s)).join(', ')}, which needs its probabilities\n`);
  const figures: AnomalyFigures = { rows: [], projections: new Map() };
  const headRuns: AnomalyHeadRun[] = [];
  // The detector of the best row so far (by AUROC).
  let best: BestDetector | null = null;
  const offer = (auroc: number, head: string, score: string, method: FitMethod): void => {
    if (best && best.auroc >= auroc) return;
    const detector = fitDetector({
      method, normal: fitSet, validation: testNormal, calibration: valNormal ?? undefined, anomalies: testAnomaly, classes: trainSet.classes, normalClassCount: split.normalClassCount,
      referenceClasses: split.referenceClasses, normalization: config.normalization, threshold: spec.threshold ?? {}, source, device,
      resize: data.input.resize?.fit,
    });
    best?.detector.dispose();
    best = { auroc, head, score, detector };
  };
  let interrupted = false;
  const stop = spec.signal;
  const tta = spec.tta ?? 'none';
  spec.onStoppable?.();
  try {
    for (const name of ownHeads) {
      // distributed: ranks stop together through the votes inside train(), never on their own signal
      if (!dp && stop?.aborted) {
        interrupted = true;
        break;
      }
      const oneClass = name === ONE_CLASS_ROTATION ? buildOneClassRotation(modelOptions, data.input) : null;
      const { model, head } = oneClass ?? buildModel(modelOptions, name, trainSet.classes.length, data.input);
      const aux = oneClass || !spec.auxRotation ? null : auxiliaryRotation(model, { weight: spec.auxRotation.weight, device: modelOptions.device });
      try {
        await loadPretrainedWeights(spec.weights, model);
        const r = await train({ model, head, train: oneClass ? fitSet : trainSet, val: oneClass ? rotatedDataset(valNormal!) : val, config, dir: join(spec.checkpoints, name),
          resume: spec.resume ?? false, label: name, modelSpec: backboneSpec(modelOptions, data.input), task: oneClass?.task ?? aux?.task, signal: stop, distributed: dp });
        if (r.interrupted) {
          note(`anomaly: stopped during '${name}'; results so far written. Resume with the same command plus --resume.\n`);
          interrupted = true;
          break;
        }
        if (!root) continue; // distributed: the other ranks go on to train the next head
        headRuns.push({ name, config: head.config(), best_val_acc: r.bestValAcc, best_epoch: r.bestEpoch, final_val_acc: r.finalValAcc, train_seconds: r.trainSeconds, history: r.history });
        // The one-class model's head predicts rotations, not classes: the class-logit scores do not apply to it.
        const registryScores = scores.filter((s) => !scoreIsKind(s, 'network', 'fusion') && !(oneClass && scoreNeeds(s, 'logits')));
        const optionsOf = (s: string): Record<string, unknown> => (scoreNeeds(s, 'normalClasses') ? { normalClassCount: split.normalClassCount } : scoreOptions[s] ?? {});
        // Every row of this head, for the detector file: the best one is saved, whatever kind of score it is.
        const candidates: Array<{ score: string; auroc: number; components?: string[] }> = [];
        const evaluation = evaluateHead(model, head, { fit: fitSet, testNormal, testAnomaly, reference: refSample }, {
          scorers: registryScores.filter((s) => fittedScores.includes(s)).map((s) => ({ name: s, options: optionsOf(s) })),
          normalization: config.normalization, device, tta,
        });
        for (const s of evaluation.skipped) log(`anomaly: skipping '${s.score}' for '${name}', which has no class logits\n`);
        if (oneClass) for (const s of scores.filter((x) => scoreNeeds(x, 'logits'))) log(`anomaly: skipping '${s}' for '${name}', which has no class logits\n`);
        for (const row of evaluation.rows) {
          addRow(figures, { head: name, score: row.score, scoreOptions: scoreOptions[row.score], trainSeconds: r.trainSeconds, bestValAcc: r.bestValAcc }, row.normal, row.anomaly);
          candidates.push({ score: row.score, auroc: row.metrics.auroc });
        }
        // Rotation, Mahalanobis at several depths and fusion: fitted on the normal training images, normalised on the held-out normals.
        const networkScores = scores.filter((s) => scoreIsKind(s, 'network', 'fusion'));
        if (networkScores.length > 0) {
          const n = testNormal.labels.length;
          const scored = computeScores({ model, head: oneClass ? null : head, rotationHead: oneClass?.head ?? aux?.rotationHead ?? null },
            { fit: fitSet, validation: valNormal, test: concatTest(testNormal, testAnomaly), normalClassCount: split.normalClassCount }, networkScores,
            { norm: config.normalization, device, scoreOptions, fuse: spec.fuse, depths: spec.depths, tta,
              onSkip: (score, why) => log(`anomaly: skipping '${score}' for '${name}': ${why}\n`) });
          for (const x of scored) {
            addRow(figures, { head: name, score: x.score, scoreOptions: scoreOptions[x.score], trainSeconds: r.trainSeconds, bestValAcc: r.bestValAcc }, x.values.slice(0, n), x.values.slice(n), x);
            candidates.push({ score: x.score, auroc: figures.rows[figures.rows.length - 1].row.auroc, components: scoreIsKind(x.score, 'fusion') ? x.components : undefined });
          }
        }
        figures.projections.set(name, evaluation.projection);
        // The first best row (in the table's order) becomes the detector candidate of this head.
        const top = candidates.reduce<(typeof candidates)[number] | undefined>((a, c) => (!a || c.auroc > a.auroc ? c : a), undefined);
        if (top) {
          offer(top.auroc, name, top.score, {
            kind: 'embedding', model, backbone: backboneSpec(modelOptions, data.input), head, rotationHead: oneClass ? null : aux?.rotationHead ?? null,
            scorer: top.score, scorerOptions: optionsOf(top.score), tta, depths: spec.depths ?? undefined,
            components: top.components?.map((c) => ({ name: c, options: optionsOf(c) })),
          });
        }
      } finally {
        model.dispose();
        head.dispose();
        aux?.rotationHead.dispose();
      }
    }

    let autoencoder: AutoencoderRun | undefined;
    if (ownAutoencoder && spec.autoencoder && !interrupted && (dp || !stop?.aborted)) {
      const { normalOnly, lr } = spec.autoencoder;
      const aeTrain = normalOnly ? fitSet : trainSet;
      manualSeed(seed);
      const ae = new ConvAutoencoder({ inChannels: trainSet.channels });
      try {
        if (device !== 'cpu') ae.to(device);
        const dir = join(spec.checkpoints, 'autoencoder');
        const r = await trainAutoencoder({ model: ae, train: aeTrain, epochs: config.epochs, batchSize: config.batchSize, lr, seed, device, dir, resume: spec.resume ?? false, signal: stop, distributed: dp });
        if (r.interrupted) {
          note('anomaly: stopped during the autoencoder; results so far written. Resume with the same command plus --resume.\n');
          interrupted = true;
        } else if (root) {
          const normal = reconstructionErrors(ae, testNormal, { device });
          const anomaly = reconstructionErrors(ae, testAnomaly, { device });
          addRow(figures, { head: 'autoencoder', score: 'reconstruction', trainSeconds: r.trainSeconds, bestValAcc: null }, normal, anomaly);
          offer(figures.rows[figures.rows.length - 1].row.auroc, 'autoencoder', 'reconstruction', { kind: 'autoencoder', autoencoder: ae });
          autoencoder = { normal_only: normalOnly, n_train: aeTrain.labels.length, lr, train_seconds: r.trainSeconds, history: r.history };
        }
      } finally {
        ae.dispose();
      }
    }

    const chosen = best as BestDetector | null;
    best = null; // handed to the caller
    return {
      dataset: { source, classes: fullTrain.classes },
      protocol: {
        normal: split.normalClasses, anomaly: split.anomalyClasses, reference: split.referenceClasses,
        n_train: trainSet.labels.length, n_fit: fitSet.labels.length, n_val: val.labels.length,
        n_test_normal: testNormal.labels.length, n_test_anomaly: testAnomaly.labels.length, model: 'final epoch',
        ...(valNormal ? { n_holdout_normal: valNormal.labels.length } : {}),
      },
      rows: figures.rows.map((r) => r.row),
      heads: headRuns,
      ...(autoencoder ? { autoencoder } : {}),
      ...(chosen ? { detector: chosen } : {}),
      figures,
      interrupted,
    };
  } finally {
    (best as BestDetector | null)?.detector.dispose();
  }
}

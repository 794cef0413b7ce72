// fitDetector: turns a trained network into a saved-able AnomalyDetector — copies the weights,
// embeds the normal training images, fits the scorer on them, scores held-out normal images to
// choose the threshold, and records the validation metrics and the data's identity.
import { createHash } from 'node:crypto';
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/combine.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { tensor } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import type { ImageDataset } from '../data/dataset.js';
import { preprocessingFor, type Preprocessing } from '../data/preprocessing.js';
import { createEmbeddingNet, type BackboneSpec } from '../models/registry.js';
import { EmbeddingNet } from '../models/embedding-net.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { Head } from '../losses/head.js';
import { checkInt, describe } from '../tensor/checks.js';
import { RotationHead } from '../losses/rotation-head.js';
import type { KnnMetric } from '../eval/knn.js';
import { datasetSlice, embedDataset, inEvalMode, ranges, type InputNormalization, type UInt8Images } from '../inference/index.js';
import { versions } from '../util/versions.js';
import { AnomalyDetector, DETECTOR_FORMAT, rebuildHead, type DetectorManifest, type DetectorMethod, type DetectorValidation, type HeadConfig } from './anomaly-detector.js';
import { ImageScorer, type ScoreComponentSpec } from './image-scorer.js';
import type { TestTimeAugmentation } from './rotation/rotation-score.js';
import { anomalyMetrics } from './anomaly-metrics.js';
import { chooseThreshold, checkThresholdRule, fractionAbove, type ThresholdRule } from './threshold.js';

/** Methods that learn from normal images alone (no second class needed). */
export const ONE_CLASS_METHODS: readonly string[] = ['autoencoder', 'rotation'];

/** Why a head cannot be trained on these classes, or null when it can. */
export function oneClassProblem(method: string, trainingClasses: readonly string[]): string | null {
  if (ONE_CLASS_METHODS.includes(method) || trainingClasses.length >= 2) return null;
  return `'${method}' learns by telling classes apart, so it needs at least 2 training classes but received ${trainingClasses.length} ('${trainingClasses.join("', '")}'). ` +
    `Methods that learn from normal images alone: ${ONE_CLASS_METHODS.join(', ')}; or add reference classes (other labelled images) to train the head on`;
}

export type FitMethod =
  | {
    kind: 'embedding'; model: EmbeddingNet; backbone: BackboneSpec;
    /** The class head, or the one-class rotation model's RotationHead. */
    head: Head;
    /** A registry scorer, 'rotation', 'mahalanobis-depths' or 'fusion'. */
    scorer: string; scorerOptions?: Record<string, unknown>;
    /** The auxiliary rotation head (for the 'rotation' score beside a class head). */
    rotationHead?: RotationHead | null;
    /** 'flip': features and scores averaged with the mirror image's. */
    tta?: TestTimeAugmentation;
    /** fusion: its components. */
    components?: ScoreComponentSpec[];
    /** mahalanobis-depths: layers of backbone.features (default a third, two thirds, the last). */
    depths?: number[];
  }
  | { kind: 'autoencoder'; autoencoder: ConvAutoencoder; widths?: [number, number, number] };

export interface FitDetectorOptions {
  /** The trained network; the detector keeps its own copy of the weights. */
  method: FitMethod;
  /** Normal training images: the scorer is fitted on them and they are the neighbours shown for new images. Labels index `classes`. */
  normal: ImageDataset;
  /** Held-out normal images (never fitted on): the threshold is chosen on their scores. */
  validation: ImageDataset;
  /** Held-out normal images for the z-normalisation of fusion and mahalanobis-depths (default: validation). */
  calibration?: ImageDataset;
  /** Optional anomaly images: AUROC/AUPR in the validation metrics, and the tpr threshold rule. */
  anomalies?: ImageDataset;
  /** The network's classes (default normal.classes); the first normalClassCount are normal. */
  classes?: string[];
  normalClassCount?: number;
  referenceClasses?: string[];
  /** How the network's inputs were scaled in training. */
  normalization: InputNormalization;
  resize?: Preprocessing['resize'];
  /** Default { fpr: 0.05 }: 95% of the validation normals score at or below the threshold. */
  threshold?: ThresholdRule;
  /** Where the data came from (recorded). */
  source?: string;
  /** Store the normal images in the file for thumbnails (default: when they take ≤ 64 MiB). */
  storeImages?: boolean;
  device?: Device;
  batchSize?: number;
}

const STORE_IMAGES_LIMIT = 64 * 1024 * 1024;

const asBatch = (d: ImageDataset): UInt8Images => ({ images: d.images, size: d.labels.length, height: d.height, width: d.width, channels: d.channels });

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length - 1e-9) - 1))];
}

/** The normal images' neighbour features with the autoencoder: its flattened code. */
function encodeDataset(ae: ConvAutoencoder, data: ImageDataset, device: Device, batchSize: number): Tensor {
  return inEvalMode([ae], () => noGrad(() => {
    const parts: Tensor[] = [];
    try {
      for (const [s, e] of ranges(data.labels.length, batchSize)) {
        parts.push(keep(tidy(() => ae.encode(datasetSlice(data, s, e, { kind: 'unit' }, device)).flatten(1).to('cpu'))));
      }
      return cat(parts);
    } finally {
      dispose(parts);
    }
  }));
}

function isImageDataset(d: unknown): boolean {
  const x = d as ImageDataset | null | undefined;
  if (x === null || typeof x !== 'object' || !(x.images instanceof Uint8Array) || !(ArrayBuffer.isView(x.labels) || Array.isArray(x.labels)) || !Array.isArray(x.classes)) return false;
  const sides = [x.height, x.width, x.channels];
  return sides.every((v) => Number.isInteger(v) && v > 0) && x.images.length === x.labels.length * x.height * x.width * x.channels;
}

/** The library call's arguments: a wrong one is a TypeError naming its field, not a later "reading 'labels'". */
function checkFitOptions(o: FitDetectorOptions): void {
  const expected = (what: string, field: string, received: unknown) => new TypeError(`fitDetector: Expected ${what} for ${field} but received ${describe(received)}`);
  if (o === null || typeof o !== 'object') throw expected('an options object', 'its options', o);
  const m = o.method as FitMethod | null | undefined;
  if (m === null || typeof m !== 'object') throw expected("a method { kind: 'embedding' | 'autoencoder', … }", 'method', m);
  if (m.kind === 'autoencoder') {
    if (!(m.autoencoder instanceof ConvAutoencoder)) throw expected('a ConvAutoencoder', 'method.autoencoder', m.autoencoder);
  } else if (m.kind === 'embedding') {
    if (!(m.model instanceof EmbeddingNet)) throw expected('an EmbeddingNet', 'method.model', m.model);
    if (!(m.head instanceof Head)) throw expected('a Head', 'method.head', m.head);
    if (m.backbone === null || typeof m.backbone !== 'object' || typeof m.backbone.name !== 'string') throw expected('a backbone spec {name, …}', 'method.backbone', m.backbone);
    if (typeof m.scorer !== 'string') throw expected('a score name', 'method.scorer', m.scorer);
  } else {
    throw expected("'embedding' or 'autoencoder'", 'method.kind', (m as { kind?: unknown }).kind);
  }
  for (const field of ['normal', 'validation', 'calibration', 'anomalies'] as const) {
    const optional = field === 'calibration' || field === 'anomalies';
    if (!(optional && o[field] === undefined) && !isImageDataset(o[field])) {
      throw expected('an ImageDataset {images, labels, height, width, channels, classes} with one image per label', field, o[field]);
    }
  }
  const kind = o.normalization?.kind;
  if (kind !== 'unit' && kind !== 'standard') throw expected("{ kind: 'unit' } or { kind: 'standard', mean, std }", 'normalization', o.normalization);
  if (o.batchSize !== undefined) checkInt(o.batchSize, 'batchSize of fitDetector', 1);
}

/**
 * Fits a detector: the method's network (copied), its scorer fitted on the normal images, and a
 * threshold chosen on held-out normal images.
 * @example
 * ```ts
 * const detector = fitDetector({ method: { kind: 'autoencoder', autoencoder: ae }, normal, validation, normalization: { kind: 'unit' } });
 * await detector.save('runs/detector/detector.dmdet');
 * ```
 */
export function fitDetector(o: FitDetectorOptions): AnomalyDetector {
  checkFitOptions(o);
  const threshold = checkThresholdRule(o.threshold ?? {});
  if (o.normal.labels.length === 0) throw new RangeError('Expected normal training images to fit the detector on but received none');
  if (o.validation.labels.length === 0) throw new RangeError('Expected held-out normal validation images to choose the threshold on but received none');
  if (threshold.tpr !== undefined && !(o.anomalies && o.anomalies.labels.length > 0)) {
    throw new RangeError('Expected anomaly images to choose the threshold by true-positive rate but received none; use a false-positive rate on normal images instead');
  }
  const classes = o.classes ?? o.normal.classes;
  const normalClassCount = o.normalClassCount ?? 1;
  const device = o.device ?? 'cpu';
  const batchSize = o.batchSize ?? 256;
  const preprocessing = preprocessingFor(o.normal, o.method.kind === 'autoencoder' ? { kind: 'unit' } : o.normalization, o.resize);
  for (const [what, d] of [['validation', o.validation], ['anomalies', o.anomalies]] as const) {
    if (d && (d.height !== o.normal.height || d.width !== o.normal.width || d.channels !== o.normal.channels)) {
      throw new TypeError(`Expected ${what} images of the normal images' shape ${o.normal.width}×${o.normal.height}×${o.normal.channels} but received ${d.width}×${d.height}×${d.channels}`);
    }
  }

  let net: EmbeddingNet | ConvAutoencoder | null = null;
  let head: Head | null = null;
  let rotationHead: RotationHead | null = null;
  let scorer: ImageScorer | null = null;
  let features: Tensor | null = null;
  let images: Tensor | null = null;
  let detector: AnomalyDetector | null = null;
  try {
    let method: DetectorMethod;
    let metric: KnnMetric = 'cosine';
    if (o.method.kind === 'autoencoder') {
      const widths = o.method.widths ?? [32, 64, 128];
      const ae = new ConvAutoencoder({ inChannels: o.method.autoencoder.inChannels, widths });
      net = ae;
      ae.loadStateDict(o.method.autoencoder.stateDict());
      if (device !== 'cpu') ae.to(device);
      method = { kind: 'autoencoder', autoencoder: { inChannels: ae.inChannels, widths } };
      features = encodeDataset(ae, o.normal, device, batchSize);
    } else {
      const m = o.method;
      const model = createEmbeddingNet(m.backbone);
      net = model;
      model.loadStateDict(m.model.stateDict());
      const copy = (h: Head): Head => {
        const c = rebuildHead(h.config() as HeadConfig);
        c.loadStateDict(h.stateDict());
        if (device !== 'cpu') c.to(device);
        return c;
      };
      head = copy(m.head);
      rotationHead = m.rotationHead ? copy(m.rotationHead) as RotationHead : null;
      if (device !== 'cpu') model.to(device);
      const oneClass = head instanceof RotationHead;
      scorer = new ImageScorer({ model, head: oneClass ? null : head, rotationHead: oneClass ? head as RotationHead : rotationHead },
        { name: m.scorer, options: m.scorerOptions ?? {}, tta: m.tta, components: m.components, depths: m.depths });
      // The neighbours' features are the fit features: embedded once, for both.
      features = embedDataset(scorer.embedder, o.normal, { norm: o.normalization, device, batchSize });
      scorer.fit({ fit: o.normal, validation: o.calibration ?? o.validation, norm: o.normalization, device, batchSize, fitFeatures: features });
      const plain = scorer.plainScorer;
      if (plain && 'metric' in plain.options && (m.scorer === 'knn' || m.scorer === 'center')) metric = plain.options.metric as KnnMetric;
      method = {
        kind: 'embedding', backbone: m.backbone, head: m.head.config() as HeadConfig,
        ...(rotationHead ? { rotation_head: rotationHead.config() as HeadConfig } : {}), scorer: scorer.spec,
      };
    }
    const n = o.normal.labels.length;
    const storeImages = o.storeImages ?? o.normal.images.length <= STORE_IMAGES_LIMIT;
    if (storeImages) images = tensor(o.normal.images.slice(), { shape: [n, o.normal.height, o.normal.width, o.normal.channels] });
    const manifest: DetectorManifest = {
      format: DETECTOR_FORMAT,
      method,
      preprocessing,
      classes,
      normal_classes: classes.slice(0, normalClassCount),
      threshold: { value: NaN, rule: 'fpr', target: 0.05 },
      validation: { n_normal: 0, fpr: NaN, normal_score_quantiles: { p50: NaN, p90: NaN, p95: NaN, p99: NaN, max: NaN } },
      neighbours: { metric, count: n, names: o.normal.files ? [...o.normal.files] : null, labels: Array.from(o.normal.labels, (l) => classes[l] ?? String(l)), images: storeImages },
      dataset: {
        source: o.source ?? 'unknown', n_fit: n, n_validation: o.validation.labels.length, reference_classes: o.referenceClasses ?? classes.slice(normalClassCount),
        fit_sha256: createHash('sha256').update(o.normal.images).digest('hex'),
      },
      versions: versions(),
      created: new Date().toISOString(),
    };
    detector = new AnomalyDetector({ manifest, net, head, rotationHead, scorer, normalEmbeddings: features, normalImages: images, device });
    net = null;
    head = null;
    rotationHead = null;
    scorer = null;
    features = null;
    images = null;

    const normalScores = detector.scores(asBatch(o.validation), { batchSize });
    const anomalyScores = o.anomalies && o.anomalies.labels.length > 0 ? detector.scores(asBatch(o.anomalies), { batchSize }) : undefined;
    manifest.threshold = chooseThreshold(normalScores, anomalyScores, threshold);
    const sorted = [...normalScores].sort((a, b) => a - b);
    const validation: DetectorValidation = {
      n_normal: normalScores.length,
      fpr: fractionAbove(normalScores, manifest.threshold.value),
      normal_score_quantiles: { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] },
    };
    if (anomalyScores) {
      const metrics = anomalyMetrics(normalScores, anomalyScores);
      Object.assign(validation, {
        n_anomaly: anomalyScores.length, tpr: fractionAbove(anomalyScores, manifest.threshold.value),
        auroc: metrics.auroc, aupr: metrics.aupr, fpr_at_95_tpr: metrics.fpr_at_95_tpr,
      });
    }
    manifest.validation = validation;
    return detector;
  } catch (e) {
    detector?.dispose();
    scorer?.dispose();
    net?.dispose();
    head?.dispose();
    rotationHead?.dispose();
    if (features) dispose(features);
    if (images) dispose(images);
    throw e;
  }
}

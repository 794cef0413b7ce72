// A fitted anomaly detector: the network (backbone + head, or the autoencoder baseline), the fitted
// scorer, the normal training images' embeddings for nearest-neighbour explanations, the input
// preprocessing and the decision threshold — scoring new images and saved to / loaded from one
// checksummed file (format: src/serialize/checked-bundle.ts; the manifest below).
import type { Tensor } from '../tensor/tensor.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import { fuseConvBatchNorm } from '../nn/fuse.js';
import { normalize } from '../nn/functional.js';
import { createEmbeddingNet, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { createHead } from '../losses/registry.js';
import type { Head } from '../losses/head.js';
import { RotationHead } from '../losses/rotation-head.js';
import { KnnScorer } from '../eval/scorers/knn-scorer.js';
import { ImageScorer, type ImageScoreSpec } from './image-scorer.js';
import { checkMetric, knnSearch, type KnnMetric } from '../eval/knn.js';
import { describe } from '../tensor/checks.js';
import { imagesToTensor, type UInt8Images, ranges } from '../inference/index.js';
import { normalizationOf, type Preprocessing } from '../data/preprocessing.js';
import { bundleKind, checkManifestBackbone, checkManifestPreprocessing, encodeBundle, readBundle } from '../serialize/checked-bundle.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Versions } from '../util/versions.js';
import type { Threshold } from './threshold.js';

export const DETECTOR_FORMAT = 'deepmetric-detector/1';
/** The file name extension of detector files. */
export const DETECTOR_EXTENSION = '.dmdet';
export const DETECTOR_BUNDLE = bundleKind({ magic: 'DMDETEC1', what: 'detector', writtenBy: '`deepmetric fit-detector` or `deepmetric anomaly --out`' });

export type DetectorMethod =
  | {
    kind: 'embedding';
    backbone: BackboneSpec;
    /** head.config(): createHead(head.name, head) rebuilds it; the one-class rotation model's head is its RotationHead. */
    head: HeadConfig;
    /** The auxiliary rotation head's config, when the score reads it. */
    rotation_head?: HeadConfig | null;
    /** The score: a registry scorer, 'rotation', 'mahalanobis-depths' or 'fusion', with its test-time augmentation. */
    scorer: ImageScoreSpec;
  }
  | { kind: 'autoencoder'; autoencoder: { inChannels: number; widths: [number, number, number] } };

export type HeadConfig = Record<string, unknown> & { name: string };

/** A head from its config(): the registry's heads, and the rotation head. */
export function rebuildHead(config: HeadConfig): Head {
  const { name, ...cfg } = config;
  if (name === 'rotation') return new RotationHead(cfg as { embeddingDim: number });
  return createHead(name, cfg as { embeddingDim: number; numClasses: number });
}

export interface DetectorValidation {
  /** Held-out normal images the threshold was chosen on. */
  n_normal: number;
  /** Fraction of them above the threshold. */
  fpr: number;
  normal_score_quantiles: { p50: number; p90: number; p95: number; p99: number; max: number };
  /** With anomaly images (deepmetric anomaly): how many, the fraction above the threshold, and the threshold-free metrics. */
  n_anomaly?: number;
  tpr?: number;
  auroc?: number;
  aupr?: number;
  fpr_at_95_tpr?: number;
}

export interface DetectorManifest {
  format: typeof DETECTOR_FORMAT;
  method: DetectorMethod;
  preprocessing: Preprocessing;
  /** The classes the network was trained on (normal first, then reference), label i = classes[i]. */
  classes: string[];
  normal_classes: string[];
  threshold: Threshold;
  validation: DetectorValidation;
  /** The normal training images (tensor normal.embeddings, and normal.images when stored). */
  neighbours: { metric: KnnMetric; count: number; names: string[] | null; labels: string[]; images: boolean };
  dataset: { source: string; n_fit: number; n_validation: number; reference_classes: string[]; fit_sha256: string };
  versions: Versions;
  created: string;
}

export interface Neighbour {
  /** Position among the detector's normal training images (dataset order). */
  index: number;
  /** Its file name when the training source had files, else null. */
  name: string | null;
  label: string;
  distance: number;
}

export interface DetectorResult {
  score: number;
  /** score > threshold. */
  anomalous: boolean;
  neighbours: Neighbour[];
}

export interface DetectorScoreOptions {
  /** Nearest normal training images per image (default 3; 0 for none). */
  k?: number;
  /** Images per forward pass (default 256). */
  batchSize?: number;
}

/** The parts a detector is made of; built by fitDetector or AnomalyDetector.load, owned by the detector. */
export interface DetectorParts {
  manifest: DetectorManifest;
  net: EmbeddingNet | ConvAutoencoder;
  head: Head | null;
  /** The auxiliary rotation head the score reads, or null. */
  rotationHead?: RotationHead | null;
  scorer: ImageScorer | null;
  /** [N,D] float32 features of the normal training images. */
  normalEmbeddings: Tensor;
  /** [N,H,W,C] uint8 normal training images, or null. */
  normalImages: Tensor | null;
  device?: Device;
}

/**
 * A fitted anomaly detector: network, scorer state, preprocessing, threshold and the normal
 * training images' features, saved as one checksummed file.
 * @example
 * ```ts
 * const detector = AnomalyDetector.load('runs/detector/detector.dmdet');
 * const [r] = detector.score(batch);   // { score, anomalous, neighbours }
 * detector.dispose();
 * ```
 */
export class AnomalyDetector {
  readonly manifest: DetectorManifest;
  readonly #net: EmbeddingNet | ConvAutoencoder;
  readonly #head: Head | null;
  readonly #rotationHead: RotationHead | null;
  readonly #scorer: ImageScorer | null;
  readonly #normal: Tensor;
  readonly #images: Tensor | null;
  readonly #device: Device;
  /** The file's bytes when loaded, so save() writes an identical copy even after BatchNorm was fused. */
  #bytes: Buffer | null = null;
  #disposed = false;

  /** Use fitDetector or AnomalyDetector.load. */
  constructor(parts: DetectorParts) {
    this.manifest = parts.manifest;
    this.#net = parts.net;
    this.#head = parts.head;
    this.#rotationHead = parts.rotationHead ?? null;
    this.#scorer = parts.scorer;
    this.#normal = keep(parts.normalEmbeddings);
    this.#images = parts.normalImages ? keep(parts.normalImages) : null;
    this.#device = parts.device ?? 'cpu';
    this.#modules().forEach((m) => m.eval());
  }

  get threshold(): number {
    return this.manifest.threshold.value;
  }

  get preprocessing(): Preprocessing {
    return this.manifest.preprocessing;
  }

  #modules(): Module[] {
    return [this.#net, ...(this.#head ? [this.#head] : []), ...(this.#rotationHead ? [this.#rotationHead] : [])];
  }

  #check(): void {
    if (this.#disposed) throw new Error('AnomalyDetector: used after dispose()');
  }

  /** Anomaly scores and neighbour features of a batch of model inputs [N,C,H,W]. */
  #forward(x: Tensor): { scores: Tensor; features: Tensor } {
    if (this.#net instanceof ConvAutoencoder) {
      return { scores: this.#net.reconstructionError(x), features: this.#net.encode(x).flatten(1) };
    }
    const features = this.#scorer!.features(x);
    return { scores: this.#scorer!.score(x, features), features };
  }

  #checkImages(images: UInt8Images): void {
    const p = this.preprocessing;
    if (images.height !== p.height || images.width !== p.width || images.channels !== p.channels) {
      throw new TypeError(`AnomalyDetector: Expected ${p.width}×${p.height}×${p.channels} images (the detector's preprocessing) but received ${images.width}×${images.height}×${images.channels}; decode files with prepareImage(data, name, detector.preprocessing)`);
    }
    if (images.images.length !== images.size * p.width * p.height * p.channels) {
      throw new RangeError(`AnomalyDetector: Expected ${images.size * p.width * p.height * p.channels} bytes for ${images.size} images but received ${images.images.length}`);
    }
  }

  /** Per image of a uint8 NHWC batch at the detector's size: the score, the verdict and the k nearest normal training images. */
  score(images: UInt8Images, opts: DetectorScoreOptions = {}): DetectorResult[] {
    this.#check();
    this.#checkImages(images);
    const k = Math.min(opts.k ?? 3, this.manifest.neighbours.count);
    const per = images.height * images.width * images.channels;
    const norm = normalizationOf(this.preprocessing);
    const { names, labels, metric } = this.manifest.neighbours;
    const out: DetectorResult[] = [];
    noGrad(() => {
      for (const [s, e] of ranges(images.size, opts.batchSize ?? 256)) {
        const { scores, distances, indices } = tidy(() => {
          const x = imagesToTensor({ ...images, images: images.images.subarray(s * per, e * per), size: e - s }, norm, this.#device);
          const plain = this.#scorer?.plainScorer;
          if (k > 0 && plain instanceof KnnScorer && plain.metric === metric && !(this.#net instanceof ConvAutoencoder)) {
            // The scorer's training rows are the normal embeddings: one search gives the score and the neighbours.
            const both = plain.scoreAndSearch(this.#net.forward(x), k);
            return { scores: both.scores.to('cpu').toNumbers(), distances: both.distances.toNumbers(), indices: both.indices.toNumbers() };
          }
          const f = this.#forward(x);
          const scoresOut = f.scores.to('cpu').toNumbers();
          if (k === 0) return { scores: scoresOut, distances: [] as number[], indices: [] as number[] };
          const nn = knnSearch(f.features.to('cpu'), this.#normal, { k, metric });
          return { scores: scoresOut, distances: nn.distances.toNumbers(), indices: nn.indices.toNumbers() };
        });
        scores.forEach((score, i) => {
          const neighbours: Neighbour[] = [];
          for (let j = 0; j < k; j++) {
            const index = indices[i * k + j];
            neighbours.push({ index, name: names ? names[index] : null, label: labels[index], distance: distances[i * k + j] });
          }
          out.push({ score, anomalous: score > this.threshold, neighbours });
        });
      }
    });
    return out;
  }

  /**
   * The features the detector compares (the embedding network's output, or the autoencoder's code
   * flattened) of a uint8 NHWC batch at the detector's size, one Float32Array per image; with
   * normalize, each L2-normalised (what an ONNX export of the detector outputs).
   */
  embed(images: UInt8Images, opts: { batchSize?: number; normalize?: boolean } = {}): Float32Array[] {
    this.#check();
    this.#checkImages(images);
    const per = images.height * images.width * images.channels;
    const norm = normalizationOf(this.preprocessing);
    const out: Float32Array[] = [];
    noGrad(() => {
      for (const [s, e] of ranges(images.size, opts.batchSize ?? 256)) {
        const { data, dim } = tidy(() => {
          const x = imagesToTensor({ ...images, images: images.images.subarray(s * per, e * per), size: e - s }, norm, this.#device);
          let f = this.#net instanceof ConvAutoencoder ? this.#net.encode(x).flatten(1) : this.#scorer!.features(x);
          if (opts.normalize) f = normalize(f);
          f = f.to('cpu').contiguous();
          return { data: (f.dataSync() as Float32Array).slice(), dim: f.shape[1] };
        });
        for (let i = 0; i < e - s; i++) out.push(data.subarray(i * dim, (i + 1) * dim));
      }
    });
    return out;
  }

  /** The network (owned by the detector): an EmbeddingNet, or the autoencoder baseline. For export. */
  get network(): EmbeddingNet | ConvAutoencoder {
    this.#check();
    return this.#net;
  }

  /** The classification head the network was trained with (owned by the detector), or null for the autoencoder. */
  get head(): Head | null {
    this.#check();
    return this.#head;
  }

  /** Whether the file stores the normal training images' pixels (normalImage works). */
  get hasNormalImages(): boolean {
    return this.#images !== null;
  }

  /** Just the scores (no neighbours). */
  scores(images: UInt8Images, opts: { batchSize?: number } = {}): number[] {
    return this.score(images, { ...opts, k: 0 }).map((r) => r.score);
  }

  /** Pixels (H×W×C uint8) of normal training image i, when the file stores them. */
  normalImage(index: number): Uint8Array | null {
    this.#check();
    if (!this.#images) return null;
    if (!Number.isInteger(index) || index < 0 || index >= this.manifest.neighbours.count) {
      throw new RangeError(`Expected a normal image index between 0 and ${this.manifest.neighbours.count - 1} but received ${index}`);
    }
    return tidy(() => this.#images!.select(0, index).contiguous().dataSync() as Uint8Array).slice();
  }

  /** The tensors of the file: module weights under their module's name, scorer state under 'scorer.'. */
  #tensors(): Record<string, Tensor> {
    const tensors: Record<string, Tensor> = {};
    const add = (prefix: string, state: Record<string, Tensor>) => {
      for (const [k, t] of Object.entries(state)) tensors[`${prefix}.${k}`] = t;
    };
    if (this.#net instanceof ConvAutoencoder) add('autoencoder', this.#net.stateDict());
    else add('model', this.#net.stateDict());
    if (this.#head) add('head', this.#head.stateDict());
    if (this.#rotationHead) add('rotation', this.#rotationHead.stateDict());
    if (this.#scorer) add('scorer', this.#scorer.fittedState());
    tensors['normal.embeddings'] = this.#normal;
    if (this.#images) tensors['normal.images'] = this.#images;
    return tensors;
  }

  /** The detector file's bytes. */
  encode(): Buffer {
    this.#check();
    if (this.#bytes) return this.#bytes;
    return tidy(() => encodeBundle(DETECTOR_BUNDLE, this.#tensors(), this.manifest));
  }

  /** Writes the detector file atomically (conventionally named detector.dmdet). */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, this.encode());
  }

  /**
   * Reads a detector file. Damaged, truncated or foreign files are errors naming the file and the
   * cause. With fuse (default true) BatchNorm is folded into the convolutions: faster scoring,
   * scores equal to float rounding.
   */
  static load(path: string, opts: { fuse?: boolean; device?: Device } = {}): AnomalyDetector {
    const { tensors, manifest, bytes } = readBundle<DetectorManifest>(path, DETECTOR_BUNDLE);
    const owned: Module[] = [];
    let scorer: ImageScorer | null = null;
    try {
      checkManifest(manifest, path);
      const take = (prefix: string): Record<string, Tensor> => Object.fromEntries(
        Object.entries(tensors).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, t]) => [k.slice(prefix.length + 1), t]));
      const normal = tensors['normal.embeddings'];
      if (normal?.ndim !== 2 || normal.dtype !== 'float32' || normal.shape[0] !== manifest.neighbours.count) {
        throw new Error(`detector: ${path} holds no float32 normal.embeddings of ${manifest.neighbours.count} rows (field neighbours.count)`);
      }
      checkModuleSizes(manifest, normal.shape[1], take, `detector: ${path}`);
      const m = manifest.method;
      let net: EmbeddingNet | ConvAutoencoder;
      let head: Head | null = null;
      let rotationHead: RotationHead | null = null;
      if (m.kind === 'autoencoder') {
        net = new ConvAutoencoder(m.autoencoder);
        owned.push(net);
        net.loadStateDict(take('autoencoder'));
      } else {
        net = createEmbeddingNet(m.backbone);
        owned.push(net);
        head = rebuildHead(m.head);
        owned.push(head);
        if (m.rotation_head) {
          rotationHead = rebuildHead(m.rotation_head) as RotationHead;
          owned.push(rotationHead);
          rotationHead.loadStateDict(take('rotation'));
        }
        net.loadStateDict(take('model'));
        head.loadStateDict(take('head'));
        const oneClass = head instanceof RotationHead;
        scorer = new ImageScorer({ model: net, head: oneClass ? null : head, rotationHead: oneClass ? head as RotationHead : rotationHead }, m.scorer);
        scorer.loadFittedState(take('scorer'), m.scorer);
      }
      const images = tensors['normal.images'] ?? null;
      const p = manifest.preprocessing;
      if (images && (images.dtype !== 'uint8' || images.shape.join(',') !== [normal.shape[0], p.height, p.width, p.channels].join(','))) {
        throw new Error(`detector: ${path} holds normal.images of shape [${images.shape.join(',')}], not ${normal.shape[0]} uint8 images of ${p.height}×${p.width}×${p.channels} (field preprocessing)`);
      }
      const device = opts.device ?? 'cpu';
      for (const mod of owned) {
        mod.eval();
        if (device !== 'cpu') mod.to(device);
      }
      if ((opts.fuse ?? true) && m.kind === 'embedding') fuseConvBatchNorm(net.toChannelsLast());
      const detector = new AnomalyDetector({ manifest, net, head, rotationHead, scorer, normalEmbeddings: normal, normalImages: images, device });
      detector.#bytes = bytes;
      const kept = new Set<Tensor>([normal, ...(images ? [images] : [])]);
      dispose(Object.values(tensors).filter((t) => !kept.has(t)));
      return detector;
    } catch (e) {
      dispose(Object.values(tensors));
      scorer?.dispose();
      owned.forEach((mod) => mod.dispose());
      const message = (e as Error).message;
      throw new Error(message.startsWith('detector:') ? message : `detector: ${path} cannot be rebuilt: ${message}`);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#scorer?.dispose();
    this.#modules().forEach((m) => m.dispose());
    dispose([this.#normal, ...(this.#images ? [this.#images] : [])]);
  }
}

function checkManifest(m: DetectorManifest, path: string): void {
  const fail = (why: string): never => {
    throw new Error(`detector: ${path} ${why}`);
  };
  if (m.format !== DETECTOR_FORMAT) fail(`has format ${JSON.stringify(m.format)}; this deepmetric reads ${DETECTOR_FORMAT}`);
  if (!m.method || (m.method.kind !== 'embedding' && m.method.kind !== 'autoencoder')) fail(`names an unknown method ${JSON.stringify(m.method)}`);
  checkManifestPreprocessing(m.preprocessing, `detector: ${path}`);
  if (typeof m.threshold?.value !== 'number') fail('holds no threshold');
  const n = m.neighbours;
  if (!n || !Array.isArray(n.labels) || n.labels.length !== n.count || !(n.names === null || (Array.isArray(n.names) && n.names.length === n.count))) {
    fail('has an inconsistent list of normal training images (field neighbours)');
  }
  checkMetric(n.metric, 'field neighbours.metric');
}

/** Numbers in the file's tensors whose names start with `prefix.`. */
function storedNumbers(take: (prefix: string) => Record<string, Tensor>, prefix: string): number {
  return Object.values(take(prefix)).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Building the network allocates its weights before the stored ones are read, so the manifest
 * fields that size them are held to the file: the feature width `dim` (that of the stored normal
 * embeddings) and, for the weights that grow with a field, the numbers the file stores for them.
 */
function checkModuleSizes(manifest: DetectorManifest, dim: number, take: (prefix: string) => Record<string, Tensor>, source: string): void {
  const expected = (what: string, received: unknown) => new RangeError(`${source}: Expected ${what} but received ${describe(received)}`);
  const atMost = (claimed: number, prefix: string, field: string): void => {
    const stored = storedNumbers(take, prefix);
    if (!(claimed <= stored)) throw new RangeError(`${source}: Expected field ${field} to ask for at most the ${stored} weights the file stores under '${prefix}.' but it asks for ${claimed}`);
  };
  const m = manifest.method;
  if (m.kind === 'autoencoder') {
    const { inChannels, widths } = m.autoencoder ?? {};
    if (inChannels !== manifest.preprocessing.channels) throw expected(`field method.autoencoder.inChannels to be ${manifest.preprocessing.channels} (the preprocessing's channels)`, inChannels);
    if (!Array.isArray(widths) || widths.length !== 3 || !widths.every((w) => Number.isInteger(w) && w > 0)) throw expected('field method.autoencoder.widths to be 3 positive integers', widths);
    // 3×3 convolutions: in→w1→w2→w3 in the encoder, back in the decoder.
    atMost(2 * 9 * (inChannels * widths[0] + widths[0] * widths[1] + widths[1] * widths[2]), 'autoencoder', 'method.autoencoder.widths');
    return;
  }
  checkManifestBackbone(m.backbone, 'method.backbone', dim, manifest.preprocessing.channels, source);
  const heads: Array<[string, string, HeadConfig | null | undefined]> = [['head', 'head', m.head], ['rotation_head', 'rotation', m.rotation_head ?? null]];
  for (const [field, prefix, config] of heads) {
    if (config === null && field === 'rotation_head') continue;
    if (config === null || typeof config !== 'object' || typeof config.name !== 'string') throw expected(`field method.${field} to be a head config {name, …}`, config);
    if (config.embeddingDim !== dim) throw expected(`field method.${field}.embeddingDim to be ${dim} (the width of the stored normal embeddings)`, config.embeddingDim);
    // A rotation head holds hidden×dim + 4×(hidden or dim) weights; a classifying head numClasses×subCenters×dim.
    const hidden = Number(config.hidden ?? 0);
    const claimed = config.name === 'rotation' ? hidden * dim + 4 * (hidden || dim)
      : classifies(config) ? Number(config.numClasses) * Number(config.subCenters ?? 1) * dim : 0;
    atMost(claimed, prefix, `method.${field}`);
  }
}

/** Whether a registry head holds class weights (the pair losses hold none), from a tiny one: width 1, at most 16 classes. */
function classifies(config: HeadConfig): boolean {
  const probe = rebuildHead({
    ...config, embeddingDim: 1, ...(config.numClasses !== undefined ? { numClasses: Math.min(Number(config.numClasses), 16) } : {}), ...('subCenters' in config ? { subCenters: 1 } : {}),
  });
  try {
    return probe.classifies;
  } finally {
    probe.dispose();
  }
}

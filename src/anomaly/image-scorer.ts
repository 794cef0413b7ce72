// How a saved detector scores a batch of images, for every score of the anomaly protocol: a
// registry scorer on the embeddings, the rotation score, Mahalanobis at several depths, and the
// fusion of several of them, each optionally with flip test-time averaging. It is the batch-wise
// twin of computeScores (network-scores.ts, which scores whole datasets and shares embeddings
// between scores); a test holds the two to the same values. Fitting follows the same protocol:
// scorers learn from normal training images, z-normalisation from held-out normal images only.
import type { Tensor } from '../tensor/tensor.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import type { Head } from '../losses/head.js';
import type { RotationHead } from '../losses/rotation-head.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { depthFeatures, featureLayers } from '../models/depth-features.js';
import type { ImageDataset } from '../data/dataset.js';
import { type InputNormalization, datasetSlice, embedDataset, inEvalMode, ranges } from '../inference/index.js';
import { createScorer, scorerNeedsHead } from '../eval/scorers/registry.js';
import type { AnomalyScorer } from '../eval/scorers/scorer.js';
import { FlipAveraged } from './flip-averaged.js';
import { rotationScore, type TestTimeAugmentation } from './rotation/rotation-score.js';
import { embedDepths } from './depth-embeddings.js';
import { DepthMahalanobis } from './depth-mahalanobis.js';
import { zStats, type ZStats } from './fusion.js';
import { defaultDepths } from './network-scores.js';
import { scoreIsKind, scoreNames, scoreNeeds } from './scores/registry.js';

/** One score: a registry scorer name, 'rotation' or 'mahalanobis-depths', with its options. */
export interface ScoreComponentSpec {
  name: string;
  options: Record<string, unknown>;
}

/** What a detector file records about its score (manifest.method.scorer); JSON-able. */
export interface ImageScoreSpec extends ScoreComponentSpec {
  /** 'flip': every feature and score averaged with the mirror image's (default 'none'). */
  tta?: TestTimeAugmentation;
  /** mahalanobis-depths (alone or fused): the layers of backbone.features, resolved to indices. */
  depths?: number[];
  /** fusion: its components, in order. */
  components?: ScoreComponentSpec[];
  /** fusion: mean/std of each component on held-out normal images (filled in by fit). */
  normalization?: Record<string, ZStats>;
  /** mahalanobis-depths: mean/std of each layer's distance on held-out normal images (filled in by fit). */
  depth_normalization?: Record<string, ZStats>;
}

/** The trained modules a score reads; owned by the caller. */
export interface ScoringModules {
  model: EmbeddingNet;
  /** The class head (logit scores), or null. */
  head: Head | null;
  /** The rotation head (auxiliary, or the one-class model's), for 'rotation'. */
  rotationHead: RotationHead | null;
}

export interface ImageScorerFitData {
  /** Normal training images: what fitted scores learn from. */
  fit: ImageDataset;
  /** Held-out normal images: z-normalisation only (fusion, mahalanobis-depths). */
  validation: ImageDataset | null;
  norm: InputNormalization;
  device?: Device;
  batchSize?: number;
  /** features() of the fit images, when the caller has them already (they are then not embedded again). */
  fitFeatures?: Tensor;
}

/** One component's scoring of a batch [N,C,H,W] → [N]; features are the embedder's output for the batch. */
interface Component {
  fit(d: ImageScorerFitData, fitFeatures: () => Tensor): void;
  score(x: Tensor, features: () => Tensor): Tensor;
  fittedState(): Record<string, Tensor>;
  loadFittedState(state: Record<string, Tensor>): void;
  dispose(): void;
}

class RegistryComponent implements Component {
  readonly scorer: AnomalyScorer;
  constructor(spec: ScoreComponentSpec, private readonly head: Head | null) {
    if (scorerNeedsHead(spec.name) && !head?.classifies) throw new TypeError(`Expected a classifying head for the '${spec.name}' score (it reads class logits) but the network has none`);
    this.scorer = createScorer(spec.name, spec.options, head ? { head } : {});
  }
  fit(d: ImageScorerFitData, fitFeatures: () => Tensor): void {
    inEvalMode(this.head ? [this.head] : [], () => this.scorer.fit(fitFeatures(), d.fit.labels));
  }
  score(_x: Tensor, features: () => Tensor): Tensor {
    return this.scorer.score(features());
  }
  fittedState(): Record<string, Tensor> {
    return this.scorer.fittedState();
  }
  loadFittedState(state: Record<string, Tensor>): void {
    this.scorer.loadFittedState(state);
  }
  dispose(): void {
    this.scorer.dispose();
  }
}

class RotationComponent implements Component {
  constructor(private readonly model: Module, private readonly head: RotationHead, private readonly tta: TestTimeAugmentation) {}
  fit(): void {}
  score(x: Tensor): Tensor {
    return rotationScore(this.model, this.head, x, this.tta);
  }
  fittedState(): Record<string, Tensor> {
    return {};
  }
  loadFittedState(state: Record<string, Tensor>): void {
    if (Object.keys(state).length > 0) throw new TypeError(`Expected no fitted state for the rotation score but received ${Object.keys(state).join(', ')}`);
  }
  dispose(): void {}
}

class DepthComponent implements Component {
  readonly dm: DepthMahalanobis;
  constructor(private readonly model: EmbeddingNet, options: Record<string, unknown>, readonly layers: number[], private readonly tta: TestTimeAugmentation) {
    this.dm = new DepthMahalanobis(options);
  }
  fit(d: ImageScorerFitData): void {
    if (!d.validation) throw new RangeError('Expected held-out normal validation images for the mahalanobis-depths score but received none');
    const o = { norm: d.norm, device: d.device, tta: this.tta };
    const owned: Tensor[] = [];
    try {
      const fit = embedDepths(this.model, d.fit, this.layers, o);
      owned.push(...fit);
      const val = embedDepths(this.model, d.validation, this.layers, o);
      owned.push(...val);
      this.dm.fit(fit, d.fit.labels, val);
    } finally {
      dispose(owned);
    }
  }
  score(x: Tensor): Tensor {
    return tidy(() => {
      const plain = depthFeatures(this.model.backbone, x, this.layers);
      if (this.tta !== 'flip') return this.dm.scoreTensor(plain.map((f) => f.to('cpu')));
      const mirrored = depthFeatures(this.model.backbone, x.flip(3), this.layers);
      return this.dm.scoreTensor(plain.map((f, i) => f.add(mirrored[i]).div(2).to('cpu')));
    });
  }
  fittedState(): Record<string, Tensor> {
    return this.dm.fittedState();
  }
  loadFittedState(state: Record<string, Tensor>, stats?: Record<string, ZStats>): void {
    this.dm.loadFittedState(state, stats ?? {});
  }
  dispose(): void {
    this.dm.dispose();
  }
}

/** Σ over components of (score − mean) / std, as tensors. */
function fuse(scores: Tensor[], stats: ZStats[]): Tensor {
  return tidy(() => scores.map((s, i) => s.sub(stats[i].mean).div(stats[i].std)).reduce((a, b) => a.add(b)));
}

/**
 * A fitted score of image batches, built from its spec and the trained modules.
 * @example
 * ```ts
 * const s = new ImageScorer({ model, head, rotationHead }, { name: 'fusion', options: {}, tta: 'flip', components: [{ name: 'knn', options: {} }, { name: 'rotation', options: {} }] });
 * s.fit({ fit: normalTrain, validation: heldOutNormals, norm });
 * const scores = s.score(x);  // [N], higher = more anomalous
 * ```
 */
export class ImageScorer {
  readonly #spec: ImageScoreSpec;
  readonly #modules: ScoringModules;
  readonly #embedder: Module;
  readonly #components: Component[];
  readonly #names: string[];
  #stats: ZStats[] | null = null;
  #fitted = false;

  constructor(modules: ScoringModules, spec: ImageScoreSpec) {
    const tta = spec.tta ?? 'none';
    if (tta !== 'none' && tta !== 'flip') throw new TypeError(`Expected test-time augmentation 'none' or 'flip' but received ${JSON.stringify(spec.tta)}`);
    this.#modules = modules;
    this.#embedder = tta === 'flip' ? new FlipAveraged(modules.model) : modules.model;
    const parts = spec.name === 'fusion' ? spec.components ?? [] : [spec];
    if (spec.name === 'fusion' && parts.length === 0) throw new RangeError('Expected at least one component for the fusion score but received none');
    let depths = spec.depths;
    if (parts.some((p) => scoreNeeds(p.name, 'layers')) && !depths) depths = defaultDepths(featureLayers(modules.model.backbone).layers.length);
    this.#spec = { name: spec.name, options: spec.options ?? {}, tta, ...(depths ? { depths } : {}), ...(spec.name === 'fusion' ? { components: parts.map((p) => ({ name: p.name, options: p.options ?? {} })) } : {}) };
    this.#names = parts.map((p) => p.name);
    if (new Set(this.#names).size !== this.#names.length) throw new TypeError(`Expected each fusion component once but received ${this.#names.join(', ')}`);
    const built: Component[] = [];
    try {
      for (const p of parts) built.push(this.#component(p, tta, depths));
    } catch (e) {
      built.forEach((c) => c.dispose());
      throw e;
    }
    this.#components = built;
    // Record the registry scorers' options with their defaults filled in, as they rebuild them.
    const filled = built.map((c, i) => (c instanceof RegistryComponent ? c.scorer.options : parts[i].options ?? {}));
    if (spec.name === 'fusion') this.#spec.components = parts.map((p, i) => ({ name: p.name, options: filled[i] }));
    else this.#spec.options = filled[0];
  }

  #component(p: ScoreComponentSpec, tta: TestTimeAugmentation, depths: number[] | undefined): Component {
    if (scoreIsKind(p.name, 'embedding', 'logit')) return new RegistryComponent({ name: p.name, options: p.options ?? {} }, this.#modules.head);
    if (p.name === 'rotation') {
      if (!this.#modules.rotationHead) throw new TypeError('Expected a rotation head for the rotation score (train with --aux rotation, or the one-class rotation model) but the network has none');
      return new RotationComponent(this.#modules.model, this.#modules.rotationHead, tta);
    }
    if (p.name === 'mahalanobis-depths') return new DepthComponent(this.#modules.model, p.options ?? {}, depths!, tta);
    throw new TypeError(`Expected a score among ${scoreNames().join(', ')} but received '${p.name}'`);
  }

  /** The spec to save (with the normalisation statistics once fitted). */
  get spec(): ImageScoreSpec {
    const s: ImageScoreSpec = { ...this.#spec };
    if (this.#stats) s.normalization = Object.fromEntries(this.#names.map((n, i) => [n, this.#stats![i]]));
    const depth = this.#components.find((c): c is DepthComponent => c instanceof DepthComponent);
    if (depth && this.#fitted) s.depth_normalization = depth.dm.stats;
    return s;
  }

  /** The registry scorer when the score is one with no test-time augmentation (callers may use its fast paths), else null. */
  get plainScorer(): AnomalyScorer | null {
    const c = this.#components[0];
    return this.#components.length === 1 && c instanceof RegistryComponent && this.#spec.tta === 'none' ? c.scorer : null;
  }

  /** Whether fitting needs held-out normal images. */
  get needsValidation(): boolean {
    return [this.#spec.name, ...this.#names].some((n) => scoreNeeds(n, 'normalHoldout'));
  }

  /** The network whose output is features(x) (the embedding network, wrapped for flip averaging). */
  get embedder(): Module {
    return this.#embedder;
  }

  /** The features the scores compare: the embedding network's output (flip-averaged with tta 'flip'). */
  features(x: Tensor): Tensor {
    return this.#embedder.forward(x);
  }

  /** Fits every component on the normal training images, then the fusion's z-statistics on the held-out normals. */
  fit(d: ImageScorerFitData): this {
    if (this.needsValidation && !(d.validation && d.validation.labels.length >= 2)) {
      throw new RangeError(`Expected at least 2 held-out normal validation images for the ${this.#spec.name} score but received ${d.validation?.labels.length ?? 0}`);
    }
    let fitFeatures: Tensor | null = null;
    const lazy = (): Tensor => {
      if (d.fitFeatures) return d.fitFeatures;
      fitFeatures ??= keep(embedDataset(this.#embedder, d.fit, { norm: d.norm, device: d.device, batchSize: d.batchSize }));
      return fitFeatures;
    };
    try {
      for (const c of this.#components) c.fit(d, lazy);
    } finally {
      if (fitFeatures) dispose(fitFeatures);
    }
    this.#fitted = true;
    if (this.#spec.name === 'fusion') {
      const values = this.#componentScores(d.validation!, d);
      this.#stats = this.#names.map((n, i) => zStats(values[i], `'${n}'`));
    }
    return this;
  }

  /** Each component's scores of a dataset, component by component. */
  #componentScores(data: ImageDataset, d: ImageScorerFitData): number[][] {
    const out: number[][] = this.#components.map(() => []);
    this.#eval(() => noGrad(() => {
      for (const [s, e] of ranges(data.labels.length, d.batchSize ?? 250)) {
        const rows = tidy(() => {
          const x = datasetSlice(data, s, e, d.norm, d.device ?? 'cpu');
          const features = this.#lazyFeatures(x);
          return this.#components.map((c) => c.score(x, features).to('cpu').toNumbers());
        });
        rows.forEach((r, i) => out[i].push(...r));
      }
    }));
    return out;
  }

  #lazyFeatures(x: Tensor): () => Tensor {
    let f: Tensor | null = null;
    return () => {
      f ??= this.features(x);
      return f;
    };
  }

  #eval<T>(fn: () => T): T {
    const { model, head, rotationHead } = this.#modules;
    return inEvalMode([model, ...(head ? [head] : []), ...(rotationHead ? [rotationHead] : [])], fn);
  }

  /**
   * [N] scores of model inputs x [N,C,H,W], higher = more anomalous; features, when given, are
   * features(x) already computed (the detector also needs them for the neighbours).
   */
  score(x: Tensor, features?: Tensor): Tensor {
    if (!this.#fitted) throw new Error('ImageScorer: call fit (or loadFittedState) before score');
    return this.#eval(() => noGrad(() => tidy(() => {
      const lazy = features ? () => features : this.#lazyFeatures(x);
      const scores = this.#components.map((c) => c.score(x, lazy).to('cpu'));
      return this.#stats ? fuse(scores, this.#stats) : scores[0];
    })));
  }

  /** The fitted tensors, under '<component>.' for fusion (a single registry scorer's keys unprefixed, as detector files always had them). */
  fittedState(): Record<string, Tensor> {
    if (this.#spec.name !== 'fusion') return this.#components[0].fittedState();
    const out: Record<string, Tensor> = {};
    this.#components.forEach((c, i) => {
      for (const [k, t] of Object.entries(c.fittedState())) out[`${this.#names[i]}.${k}`] = t;
    });
    return out;
  }

  /** Restores fittedState() and the spec's statistics (a saved detector's). */
  loadFittedState(state: Record<string, Tensor>, saved: ImageScoreSpec): void {
    const load = (c: Component, s: Record<string, Tensor>) => (c instanceof DepthComponent ? c.loadFittedState(s, saved.depth_normalization) : c.loadFittedState(s));
    if (this.#spec.name !== 'fusion') {
      load(this.#components[0], state);
    } else {
      const known = new Set(this.#names);
      const stray = Object.keys(state).filter((k) => !known.has(k.split('.')[0]));
      if (stray.length > 0) throw new TypeError(`Expected fitted state of the fusion components ${this.#names.join(', ')} but received ${stray.join(', ')}`);
      this.#components.forEach((c, i) => {
        const prefix = `${this.#names[i]}.`;
        load(c, Object.fromEntries(Object.entries(state).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t])));
      });
      const stats = saved.normalization ?? {};
      const missing = this.#names.filter((n) => !stats[n] || !(stats[n].std > 0) || !Number.isFinite(stats[n].mean));
      if (missing.length > 0) throw new TypeError(`Expected the normalisation statistics of every fused component but '${missing.join("', '")}' has none`);
      this.#stats = this.#names.map((n) => stats[n]);
    }
    this.#fitted = true;
  }

  dispose(): void {
    this.#components.forEach((c) => c.dispose());
  }
}

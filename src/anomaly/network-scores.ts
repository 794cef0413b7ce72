// Every anomaly score of one trained network, computed under one protocol: fitted scores learn
// from the normal training images (`fit`) only, z-normalisation (fusion, Mahalanobis at several
// depths) uses held-out normal validation images (`validation`) only, and the test images —
// normal and anomalous — are only ever scored. Nothing here sees a test image before scoring it.
import type { Tensor } from '../tensor/tensor.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import type { Module } from '../nn/module.js';
import type { Head } from '../losses/head.js';
import type { RotationHead } from '../losses/rotation-head.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { ImageDataset } from '../data/dataset.js';
import { type InputNormalization, embedDataset, inEvalMode } from '../inference/index.js';
import { createScorer } from '../eval/scorers/registry.js';
import { scoreInfo, scoreIsKind, scoreNames, scoreNeeds } from './scores/registry.js';
import { rotationScores, type TestTimeAugmentation } from './rotation/rotation-score.js';
import { FlipAveraged } from './flip-averaged.js';
import { embedDepths } from './depth-embeddings.js';
import { DepthMahalanobis } from './depth-mahalanobis.js';
import { featureLayers } from '../models/depth-features.js';
import { ScoreFusion, type ZStats } from './fusion.js';
import { checkOptionKeys } from '../eval/inputs.js';

/** Scores from the class logits (need a classifying head). */
export const LOGIT_SCORES: readonly string[] = scoreNames({ needs: 'logits' });
/** Scores that are not registry scorers: they need the network itself (its rotation head, its layers) or other scores. */
export const NETWORK_ONLY_SCORES: readonly string[] = scoreNames({ kind: ['network', 'fusion'] });
/** Every score computeScores knows, besides 'fusion'. */
export const COMPONENT_SCORES: readonly string[] = scoreNames({ kind: ['embedding', 'logit', 'network'] });
export const NETWORK_SCORES: readonly string[] = scoreNames();
/** Scores that need held-out normal validation images. */
export const NEEDS_VALIDATION: readonly string[] = scoreNames({ needs: 'normalHoldout' });

export interface ScoringNetwork {
  model: EmbeddingNet;
  /** The class head, when the network has one that classifies (else the logit scores are unavailable). */
  head: Head | null;
  /** The rotation head (auxiliary, or the one-class model's only head), for the 'rotation' score. */
  rotationHead: RotationHead | null;
}

export interface ScoringData {
  /** Normal training images: what fitted scores learn from. */
  fit: ImageDataset;
  /** Held-out normal images (never trained on): z-normalisation statistics only. Needed by 'fusion' and 'mahalanobis-depths'. */
  validation: ImageDataset | null;
  /** The images to score (normal and anomalous test images; their order is kept). */
  test: ImageDataset;
  /** Labels below this are the normal classes (the anomaly split's order). */
  normalClassCount: number;
}

export interface ScoringOptions {
  norm: InputNormalization;
  device?: Device;
  /** Options per score, e.g. { knn: { k: 10 } }. */
  scoreOptions?: Record<string, Record<string, unknown>>;
  /** Components of 'fusion' (default knn, normal-logit, rotation). */
  fuse?: readonly string[];
  /** Layers of backbone.features for 'mahalanobis-depths' (default: a third, two thirds and all of the way). */
  depths?: readonly number[];
  tta?: TestTimeAugmentation;
  /** Called with a reason when a requested score does not apply to this network (e.g. no class logits). */
  onSkip?: (score: string, reason: string) => void;
}

export interface NetworkScore {
  score: string;
  /** One value per test image, higher = more anomalous. */
  values: number[];
  /** Fusion and depth Mahalanobis: the components and their normalisation statistics. */
  normalization?: Record<string, ZStats>;
  components?: string[];
}

export const DEFAULT_FUSE: readonly string[] = [...(scoreInfo('fusion')?.defaultComponents ?? [])];

/** The default depths: after about a third, two thirds and all of the layers. */
export function defaultDepths(layerCount: number): number[] {
  return [...new Set([Math.round(layerCount / 3) - 1, Math.round((2 * layerCount) / 3) - 1, layerCount - 1])].filter((d) => d >= 0);
}

/** Rejects bad options of a score before any work (the embedding scorers check theirs when built). */
export function checkScoreOptions(score: string, opts: Record<string, unknown>): void {
  if (!NETWORK_SCORES.includes(score)) throw new TypeError(`Expected scores among ${NETWORK_SCORES.join(', ')} but received '${score}'`);
  if (scoreIsKind(score, 'embedding', 'logit')) createScorer(score, opts).dispose();
  else if (score === 'mahalanobis-depths') new DepthMahalanobis(opts).dispose();
  else checkOptionKeys(opts, [], `the ${score} score`);
}

/** Why a score does not apply to this network, or null when it does. */
function unavailable(score: string, net: ScoringNetwork): string | null {
  if (scoreNeeds(score, 'logits') && !net.head?.classifies) return 'the network has no class logits';
  if (scoreNeeds(score, 'rotationHead') && !net.rotationHead) return 'the network has no rotation head (train with --aux rotation, or the one-class rotation model)';
  return null;
}

/**
 * The requested scores of the test images (one entry per score that applies, in the order asked).
 * Validation images are embedded only when a score needs them.
 */
export function computeScores(net: ScoringNetwork, data: ScoringData, scores: readonly string[], o: ScoringOptions): NetworkScore[] {
  for (const s of scores) if (!NETWORK_SCORES.includes(s)) throw new TypeError(`Expected scores among ${NETWORK_SCORES.join(', ')} but received '${s}'`);
  const fuse = [...(o.fuse ?? DEFAULT_FUSE)];
  for (const s of fuse) if (!COMPONENT_SCORES.includes(s)) throw new TypeError(`Expected fusion components among ${COMPONENT_SCORES.join(', ')} but received '${s}'`);
  const wanted = scores.filter((s) => {
    const why = unavailable(s, net);
    if (why) o.onSkip?.(s, why);
    return !why;
  });
  const fused = wanted.includes('fusion') ? fuse.filter((s) => !unavailable(s, net)) : [];
  if (wanted.includes('fusion')) {
    for (const s of fuse.filter((c) => unavailable(c, net))) o.onSkip?.(`fusion component ${s}`, unavailable(s, net)!);
    if (fused.length === 0) o.onSkip?.('fusion', 'none of its components applies to this network');
  }
  const needVal = fused.length > 0 || wanted.some((s) => !scoreIsKind(s, 'fusion') && scoreNeeds(s, 'normalHoldout'));
  if (needVal && (!data.validation || data.validation.labels.length < 2)) {
    throw new RangeError(`Expected at least 2 held-out normal validation images for ${wanted.filter((s) => NEEDS_VALIDATION.includes(s)).join(' and ')} but received ${data.validation?.labels.length ?? 0}`);
  }
  const components = [...new Set([...wanted.filter((s) => s !== 'fusion'), ...fused])];
  const withVal = new Set(fused);
  const computer = new Computer(net, data, o);
  try {
    const results = new Map<string, { test: number[]; validation: number[] | null; normalization?: Record<string, ZStats>; components?: string[] }>();
    for (const s of components) results.set(s, computer.score(s, withVal.has(s)));
    const out: NetworkScore[] = [];
    for (const s of wanted) {
      if (s === 'fusion') {
        if (fused.length === 0) continue;
        const fusion = new ScoreFusion().fit(Object.fromEntries(fused.map((c) => [c, results.get(c)!.validation!])));
        out.push({ score: 'fusion', values: fusion.fuse(Object.fromEntries(fused.map((c) => [c, results.get(c)!.test]))), normalization: fusion.stats, components: fused });
      } else {
        const r = results.get(s)!;
        out.push({ score: s, values: r.test, ...(r.normalization ? { normalization: r.normalization, components: r.components } : {}) });
      }
    }
    return out;
  } finally {
    computer.dispose();
  }
}

/** Computes each score once, embedding each set at most once. */
class Computer {
  readonly #cache = new Map<string, Tensor>();
  readonly #embedder: Module;

  constructor(readonly net: ScoringNetwork, readonly data: ScoringData, readonly o: ScoringOptions) {
    this.#embedder = o.tta === 'flip' ? new FlipAveraged(net.model) : net.model;
  }

  #embeddings(set: 'fit' | 'validation' | 'test'): Tensor {
    let t = this.#cache.get(set);
    if (!t) {
      t = keep(embedDataset(this.#embedder, this.data[set]!, { norm: this.o.norm, device: this.o.device }));
      this.#cache.set(set, t);
    }
    return t;
  }

  /** One score of the test images, and of the validation images when asked. */
  score(s: string, withValidation: boolean): { test: number[]; validation: number[] | null; normalization?: Record<string, ZStats>; components?: string[] } {
    const opts = this.o.scoreOptions?.[s] ?? {};
    const values = (f: (set: 'test' | 'validation') => number[]) => ({ test: f('test'), validation: withValidation ? f('validation') : null });
    if (scoreIsKind(s, 'embedding', 'logit')) {
      // The normal classes are the split's first labels unless the options say otherwise.
      const withDefaults = scoreNeeds(s, 'normalClasses') ? { normalClassCount: this.data.normalClassCount, ...opts } : opts;
      const head = this.net.head;
      const scorer = createScorer(s, withDefaults, head ? { head } : {});
      try {
        return inEvalMode(head ? [head] : [], () => {
          scorer.fit(this.#embeddings('fit'), this.data.fit.labels);
          return values((set) => tidy(() => scorer.score(this.#embeddings(set)).toNumbers()));
        });
      } finally {
        scorer.dispose();
      }
    }
    if (s === 'rotation') {
      checkOptionKeys(opts, [], 'the rotation score');
      return values((set) => rotationScores(this.net.model, this.net.rotationHead!, this.data[set]!, { norm: this.o.norm, device: this.o.device, tta: this.o.tta }));
    }
    if (s === 'mahalanobis-depths') return this.#depthMahalanobis(withValidation, opts);
    throw new TypeError(`Unknown score '${s}'`);
  }

  #depthMahalanobis(withValidation: boolean, opts: Record<string, unknown>) {
    const layers = this.o.depths ? [...this.o.depths] : defaultDepths(featureLayers(this.net.model.backbone).layers.length);
    const embed = (d: ImageDataset) => embedDepths(this.net.model, d, layers, { norm: this.o.norm, device: this.o.device, tta: this.o.tta });
    const owned: Tensor[] = [];
    const dm = new DepthMahalanobis(opts);
    try {
      const fit = embed(this.data.fit);
      const val = embed(this.data.validation!);
      const test = embed(this.data.test);
      owned.push(...fit, ...val, ...test);
      dm.fit(fit, this.data.fit.labels, val);
      return {
        test: dm.score(test), validation: withValidation ? dm.score(val) : null,
        normalization: dm.stats, components: layers.map((l) => `features.${l}`),
      };
    } finally {
      dm.dispose();
      dispose(owned);
    }
  }

  dispose(): void {
    dispose([...this.#cache.values()]);
    this.#cache.clear();
  }
}

/** The test set of the protocol: normal test images first, then anomalous ones (labels are not used for scoring). */
export function concatTest(normal: ImageDataset, anomaly: ImageDataset): ImageDataset {
  const images = new Uint8Array(normal.images.length + anomaly.images.length);
  images.set(normal.images, 0);
  images.set(anomaly.images, normal.images.length);
  const labels = new Int32Array(normal.labels.length + anomaly.labels.length);
  return { images, labels, height: normal.height, width: normal.width, channels: normal.channels, classes: ['test'] };
}

// createHead: builds any head or loss by its registry name, so a trainer or CLI can select one by
// string and a saved config() rebuilds it.
import { describe } from '../tensor/checks.js';
import type { BaseHeadConfig, Head, HeadConfig } from './head.js';
import { SoftmaxHead } from './softmax-head.js';
import { L2SoftmaxHead } from './l2-softmax-head.js';
import { NormalizedSoftmaxHead } from './normalized-softmax-head.js';
import { CosFaceHead } from './cosface-head.js';
import { ArcFaceHead } from './arcface-head.js';
import { SphereFaceHead } from './sphereface-head.js';
import { AdaCosHead } from './adacos-head.js';
import { SubCenterArcFaceHead } from './subcenter-arcface-head.js';
import { ContrastiveLoss } from './contrastive-loss.js';
import { TripletMarginLoss } from './triplet-margin-loss.js';
import { MultiSimilarityLoss } from './multi-similarity-loss.js';
import { SoftmaxCenterHead } from './softmax-center-head.js';

interface Entry {
  options: readonly string[];
  create(cfg: HeadConfig & Record<string, unknown>): Head;
}

// The pair losses' seams (see pair-loss.ts), accepted by each of them.
const SEAMS = ['distance', 'normalizeEmbeddings', 'reducer', 'miner'] as const;

const REGISTRY: Record<string, Entry> = {
  'softmax': { options: [], create: (c) => new SoftmaxHead(c) },
  'softmax+center': { options: ['centerWeight'], create: (c) => new SoftmaxCenterHead(c) },
  'l2softmax': { options: ['alpha', 'learnableAlpha'], create: (c) => new L2SoftmaxHead(c) },
  'normface': { options: ['scale'], create: (c) => new NormalizedSoftmaxHead(c) },
  'cosface': { options: ['scale', 'margin'], create: (c) => new CosFaceHead(c) },
  'arcface': { options: ['scale', 'margin'], create: (c) => new ArcFaceHead(c) },
  'subcenter-arcface': { options: ['scale', 'margin', 'subCenters'], create: (c) => new SubCenterArcFaceHead(c) },
  'sphereface': { options: ['margin', 'lambdaMin', 'lambdaBase', 'lambdaGamma', 'lambdaPower'], create: (c) => new SphereFaceHead(c) },
  'adacos': { options: ['dynamic'], create: (c) => new AdaCosHead(c) },
  'contrastive': { options: ['posMargin', 'negMargin', ...SEAMS], create: (c) => new ContrastiveLoss(c) },
  'triplet': { options: ['margin', 'mining', ...SEAMS], create: (c) => new TripletMarginLoss(c) },
  'multisimilarity': { options: ['alpha', 'beta', 'base', 'epsilon', 'mine', ...SEAMS], create: (c) => new MultiSimilarityLoss(c) },
};

/** The registry names, in a stable order. */
export const HEAD_NAMES: readonly string[] = Object.freeze(Object.keys(REGISTRY));

/**
 * A head by name with its options, e.g. createHead('arcface', { embeddingDim: 128, numClasses: 10, margin: 0.4 }).
 * Unknown names and unknown options are rejected with the valid ones listed. A 'name' key equal to
 * name is accepted, so createHead(h.config().name, h.config()) rebuilds h. numClasses is required
 * by the heads that classify and optional for the pair losses.
 * @example
 * ```ts
 * const head = createHead('l2softmax', { embeddingDim: 1280, numClasses: 10, alpha: 15 });
 * const loss = head.loss(embeddings, labels);
 * ```
 */
export function createHead(name: string, cfg: BaseHeadConfig & Record<string, unknown>): Head {
  const entry = Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
  if (entry === undefined) {
    const ErrorClass = typeof name === 'string' ? RangeError : TypeError;
    throw new ErrorClass(`Expected a head name, one of ${HEAD_NAMES.map((n) => `'${n}'`).join(', ')}, but received ${describe(name)}`);
  }
  if (typeof cfg !== 'object' || cfg === null) throw new TypeError(`Expected a config object for head '${name}' but received ${describe(cfg)}`);
  if ('name' in cfg && cfg.name !== name) {
    throw new RangeError(`Expected config.name to be '${name}' (or absent) but received ${describe(cfg.name)}`);
  }
  const allowed = new Set(['name', 'embeddingDim', 'numClasses', ...entry.options]);
  const unknown = Object.keys(cfg).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    const valid = ['embeddingDim', 'numClasses', ...entry.options].join(', ');
    throw new RangeError(`Expected options of head '${name}' among ${valid} but received ${unknown.map((k) => `'${k}'`).join(', ')}`);
  }
  return entry.create(cfg as HeadConfig & Record<string, unknown>);
}

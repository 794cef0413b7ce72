// Class- and sample-level splits of an ImageDataset. Every function returns new datasets (copies;
// views over the same cache file for file-backed datasets)
// and never changes its input. Random choices are seeded, so a split is reproducible.

import { checkInt, checkNumber } from '../tensor/checks.js';
import { indicesByClass, subsetDataset, type ImageDataset } from './dataset.js';
import type { AnyImageDataset } from './cache/file-image-dataset.js';
import { deriveSeed, Random } from './loading/random.js';

/** A class given by name or by label. */
export type ClassRef = string | number;

/** Labels of the given classes, in the given order; rejects unknown and repeated classes. */
export function resolveClasses(dataset: Pick<ImageDataset, 'classes'>, refs: readonly ClassRef[]): number[] {
  const labels = refs.map((ref) => {
    const label = typeof ref === 'number' ? ref : dataset.classes.indexOf(ref);
    if (typeof ref === 'number') checkInt(ref, 'class index', 0, dataset.classes.length - 1);
    if (label < 0) throw new RangeError(`Expected one of the classes ${dataset.classes.join(', ')} but received "${ref}"`);
    return label;
  });
  const seen = new Set<number>();
  for (const label of labels) {
    if (seen.has(label)) throw new RangeError(`Class "${dataset.classes[label]}" is listed twice`);
    seen.add(label);
  }
  return labels;
}

/** Only the images of the given classes, relabelled 0..k-1 in the order given. */
export function selectClasses<D extends AnyImageDataset>(dataset: D, classes: readonly ClassRef[]): D {
  const chosen = resolveClasses(dataset, classes);
  const labelMap = new Int32Array(dataset.classes.length).fill(-1);
  chosen.forEach((label, i) => (labelMap[label] = i));
  const indices: number[] = [];
  for (let i = 0; i < dataset.labels.length; i++) if (labelMap[dataset.labels[i]] >= 0) indices.push(i);
  return subsetDataset(dataset, indices, { labelMap, classes: chosen.map((label) => dataset.classes[label]) });
}

/** Holds the given classes out; the remaining classes keep their relative order, relabelled 0..k-1. */
export function excludeClasses<D extends AnyImageDataset>(dataset: D, classes: readonly ClassRef[]): D {
  const excluded = new Set(resolveClasses(dataset, classes));
  const kept = dataset.classes.map((_, label) => label).filter((label) => !excluded.has(label));
  return selectClasses(dataset, kept);
}

/**
 * How many of `total` to take from each class, proportional to class sizes (largest remainder,
 * ties to the lower label), never more than a class holds.
 */
function allocate(counts: number[], total: number): number[] {
  const size = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map((count) => (size === 0 ? 0 : (count * total) / size));
  const quota = exact.map(Math.floor);
  let remaining = total - quota.reduce((a, b) => a + b, 0);
  const order = exact.map((value, label) => ({ label, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.label - b.label);
  for (const { label } of order) {
    if (remaining === 0) break;
    if (quota[label] < counts[label]) {
      quota[label]++;
      remaining--;
    }
  }
  return quota;
}

/** Per class, a seeded random choice of `quota[label]` images; returns sorted dataset indices. */
function sampleByClass(dataset: Pick<ImageDataset, 'labels' | 'classes'>, quota: number[], seed: number): { chosen: Int32Array; rest: Int32Array } {
  const groups = indicesByClass(dataset.labels, dataset.classes.length);
  const isChosen = new Uint8Array(dataset.labels.length);
  groups.forEach((group, label) => {
    const shuffled = new Random(deriveSeed(seed, label)).shuffle(Int32Array.from(group));
    for (let i = 0; i < quota[label]; i++) isChosen[shuffled[i]] = 1;
  });
  const chosen: number[] = [];
  const rest: number[] = [];
  isChosen.forEach((flag, index) => (flag ? chosen : rest).push(index));
  return { chosen: Int32Array.from(chosen), rest: Int32Array.from(rest) };
}

export interface StratifiedSubsetOptions {
  /** Total images; classes keep their proportions. */
  size?: number;
  /** Images per class instead (classes with fewer keep all of theirs). */
  perClass?: number;
  seed?: number;
}

/** A seeded subset keeping class proportions (or a fixed number per class), in dataset order. */
export function stratifiedSubset<D extends AnyImageDataset>(dataset: D, options: StratifiedSubsetOptions): D {
  const counts = classCountsOf(dataset);
  let quota: number[];
  if (options.perClass !== undefined) {
    checkInt(options.perClass, 'perClass', 1);
    quota = counts.map((count) => Math.min(count, options.perClass!));
  } else {
    const size = checkInt(options.size, 'size', 1, dataset.labels.length);
    quota = allocate(counts, size);
  }
  return subsetDataset(dataset, sampleByClass(dataset, quota, options.seed ?? 0).chosen);
}

export interface ValidationSplitOptions {
  /** A fraction in (0, 1) of the images, or a count of images, to move to validation. */
  validation: number;
  seed?: number;
}

/** Carves a stratified, seeded validation set out of a training set. */
export function trainValidationSplit<D extends AnyImageDataset>(dataset: D, options: ValidationSplitOptions): { train: D; validation: D } {
  const n = dataset.labels.length;
  const size = options.validation < 1
    ? Math.round(checkNumber(options.validation, 'validation', Number.MIN_VALUE, 1) * n)
    : checkInt(options.validation, 'validation', 1, n - 1);
  if (size < 1 || size >= n) {
    throw new RangeError(`Expected validation to leave at least one image on each side but it selects ${size} of ${n}`);
  }
  const { chosen, rest } = sampleByClass(dataset, allocate(classCountsOf(dataset), size), options.seed ?? 0);
  return { train: subsetDataset(dataset, rest), validation: subsetDataset(dataset, chosen) };
}

function classCountsOf(dataset: Pick<ImageDataset, 'labels' | 'classes'>): number[] {
  const counts = new Array<number>(dataset.classes.length).fill(0);
  for (const label of dataset.labels) counts[label]++;
  return counts;
}

export interface AnomalySplitOptions {
  /** Classes that count as normal. */
  normal: readonly ClassRef[];
  /** Classes never seen in training; they appear only in `testAnomaly` (none: a detector fitted on normal images only). */
  anomaly: readonly ClassRef[];
  /** Labelled classes trained on besides the normal ones. Default: every class not normal and not anomaly. */
  reference?: readonly ClassRef[];
}

/**
 * The anomaly-detection protocol. Labels:
 * - `train`: normal and reference images of the training set; classes = [...normal, ...reference],
 *   so labels 0..normalClassCount-1 are normal classes and the rest reference classes.
 * - `testNormal` / `testReference`: test images of those classes, labelled like `train`.
 * - `testAnomaly`: test images of the anomaly classes; classes = anomaly names, labels 0..a-1.
 * Anomaly images of the training set are dropped entirely.
 */
export interface AnomalySplit {
  train: ImageDataset;
  testNormal: ImageDataset;
  testReference: ImageDataset;
  testAnomaly: ImageDataset;
  normalClasses: string[];
  referenceClasses: string[];
  anomalyClasses: string[];
  normalClassCount: number;
}

export function anomalySplit(train: ImageDataset, test: ImageDataset, options: AnomalySplitOptions): AnomalySplit {
  if (train.classes.join('\n') !== test.classes.join('\n')) {
    throw new RangeError('Expected train and test datasets with the same class list');
  }
  if (options.normal.length === 0) throw new RangeError('Expected at least one normal class but received 0');
  const normal = resolveClasses(train, options.normal);
  const anomaly = resolveClasses(train, options.anomaly);
  const reference = options.reference
    ? resolveClasses(train, options.reference)
    : train.classes.map((_, label) => label).filter((label) => !normal.includes(label) && !anomaly.includes(label));
  // resolveClasses on the union rejects a class given in two roles.
  resolveClasses(train, [...normal, ...reference, ...anomaly]);
  const names = (labels: number[]) => labels.map((label) => train.classes[label]);
  const known = [...normal, ...reference];
  return {
    train: selectClasses(train, known),
    testNormal: relabelLike(selectClasses(test, normal), 0, names(known)),
    testReference: relabelLike(selectClasses(test, reference), normal.length, names(known)),
    testAnomaly: selectClasses(test, anomaly),
    normalClasses: names(normal),
    referenceClasses: names(reference),
    anomalyClasses: names(anomaly),
    normalClassCount: normal.length,
  };
}

/** Gives a dataset selected from the test set the train set's labelling: label + offset, known class names. */
function relabelLike(dataset: ImageDataset, offset: number, classes: string[]): ImageDataset {
  const labels = dataset.labels.map((label) => label + offset);
  return { ...dataset, labels, classes };
}

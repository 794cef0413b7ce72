import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCounts, type ImageDataset } from '../../src/data/dataset.js';
import { anomalySplit, excludeClasses, selectClasses, stratifiedSubset, trainValidationSplit } from '../../src/data/splits.js';

/** Image i is a 1x1 single-channel image whose pixel is i, so images can be traced through splits. */
function traceable(labels: number[], classes: string[]): ImageDataset {
  return { images: Uint8Array.from(labels, (_, i) => i), labels: Int32Array.from(labels), height: 1, width: 1, channels: 1, classes };
}

const classes = ['a', 'b', 'c', 'd'];
// 40 of a, 20 of b, 10 of c, 30 of d, interleaved.
const labels = Array.from({ length: 100 }, (_, i) => (i % 10 < 4 ? 0 : i % 10 < 6 ? 1 : i % 10 < 7 ? 2 : 3));
const dataset = traceable(labels, classes);

function consistent(subset: ImageDataset, source: ImageDataset): void {
  subset.labels.forEach((label, i) => assert.equal(subset.classes[label], source.classes[source.labels[subset.images[i]]]));
}

describe('class selection', () => {
  it('keeps chosen classes, relabelled in the order given, by name or index', () => {
    const chosen = selectClasses(dataset, ['d', 1]);
    assert.deepEqual(chosen.classes, ['d', 'b']);
    assert.deepEqual(classCounts(chosen), [30, 20]);
    consistent(chosen, dataset);
  });

  it('holds classes out and keeps the rest in order', () => {
    const rest = excludeClasses(dataset, ['b']);
    assert.deepEqual(rest.classes, ['a', 'c', 'd']);
    assert.equal(rest.labels.length, 80);
    consistent(rest, dataset);
  });

  it('rejects unknown and repeated classes', () => {
    assert.throws(() => selectClasses(dataset, ['zebra']), /Expected one of the classes a, b, c, d but received "zebra"/);
    assert.throws(() => selectClasses(dataset, [7]), /Expected an integer between 0 and 3 for class index but received 7/);
    assert.throws(() => selectClasses(dataset, ['a', 0]), /listed twice/);
  });
});

describe('stratified sampling', () => {
  it('keeps class proportions and is reproducible per seed', () => {
    const subset = stratifiedSubset(dataset, { size: 10, seed: 5 });
    assert.deepEqual(classCounts(subset), [4, 2, 1, 3]);
    consistent(subset, dataset);
    assert.deepEqual(stratifiedSubset(dataset, { size: 10, seed: 5 }).images, subset.images);
    assert.notDeepEqual(stratifiedSubset(dataset, { size: 10, seed: 6 }).images, subset.images);
    assert.deepEqual(classCounts(stratifiedSubset(dataset, { perClass: 15 })), [15, 15, 10, 15]);
    assert.throws(() => stratifiedSubset(dataset, { size: 0 }), /Expected an integer between 1 and 100 for size but received 0/);
  });

  it('carves a disjoint stratified validation set out of train', () => {
    const { train, validation } = trainValidationSplit(dataset, { validation: 0.2, seed: 1 });
    assert.deepEqual(classCounts(validation), [8, 4, 2, 6]);
    assert.deepEqual(classCounts(train), [32, 16, 8, 24]);
    const all = [...train.images, ...validation.images].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
    consistent(train, dataset);
    consistent(validation, dataset);
    assert.equal(trainValidationSplit(dataset, { validation: 30, seed: 1 }).validation.labels.length, 30);
  });
});

describe('anomalySplit', () => {
  const test = traceable([0, 1, 2, 3, 3, 2, 1, 0, 2], classes);

  it('trains on normal + reference classes only and tests normal against anomaly', () => {
    const split = anomalySplit(dataset, test, { normal: ['b'], anomaly: ['c'] });
    assert.deepEqual(split.normalClasses, ['b']);
    assert.deepEqual(split.referenceClasses, ['a', 'd']);
    assert.deepEqual(split.anomalyClasses, ['c']);
    assert.equal(split.normalClassCount, 1);
    assert.deepEqual(split.train.classes, ['b', 'a', 'd']);
    assert.deepEqual(classCounts(split.train), [20, 40, 30]);
    for (const index of split.train.images) assert.notEqual(dataset.labels[index], 2, 'no anomaly image in train');
    assert.deepEqual([...split.testNormal.images], [1, 6]);
    assert.deepEqual([...split.testNormal.labels], [0, 0]);
    assert.deepEqual(split.testNormal.classes, split.train.classes);
    assert.deepEqual([...split.testReference.labels], [1, 2, 2, 1]);
    consistent(split.testReference, test);
    assert.deepEqual([...split.testAnomaly.images], [2, 5, 8]);
    assert.deepEqual(split.testAnomaly.classes, ['c']);
  });

  it('uses only the reference classes given, and rejects overlapping roles', () => {
    const split = anomalySplit(dataset, test, { normal: ['a', 'b'], anomaly: ['d'], reference: [] });
    assert.deepEqual(split.train.classes, ['a', 'b']);
    assert.equal(split.testReference.labels.length, 0);
    assert.throws(() => anomalySplit(dataset, test, { normal: ['a'], anomaly: ['a'] }), /listed twice/);
    // Normal images only (fit-detector): no anomaly class, an empty anomaly test set.
    const normalOnly = anomalySplit(dataset, test, { normal: ['a'], anomaly: [], reference: [] });
    assert.equal(normalOnly.testAnomaly.labels.length, 0);
    assert.deepEqual(normalOnly.anomalyClasses, []);
  });
});

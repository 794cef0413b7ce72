import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rocChart, rocPoints } from '../../src/report/roc-chart.js';
import { auroc, rocCurve } from '../../src/eval/roc.js';
import { findAll, parseXml, textOf } from './xml-check.js';

test('rocPoints adds the (0,0) and (1,1) ends and drops NaN', () => {
  assert.deepEqual(rocPoints([0.5, NaN], [0.8, 0.1]), [[0, 0], [0.5, 0.8], [1, 1]]);
});

test('ROC chart has the diagonal, one path per curve and AUROC in the legend', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2];
  const labels = [1, 1, 0, 1, 0, 0];
  const svg = rocChart([
    { label: 'L2-softmax', ...rocCurve(scores, labels), auroc: auroc(scores, labels) },
    { label: 'autoencoder', fpr: [0, 1], tpr: [0, 1], auroc: 0.53 },
  ]);
  const root = parseXml(svg);
  assert.equal(findAll(root, (e) => e.attrs.class === 'chance').length, 1);
  const series = findAll(root, (e) => e.attrs.class === 'series');
  assert.equal(series.length, 2);
  for (const s of series) assert.equal(s.children.filter((c) => c.name === 'path').length, 1);
  const legend = findAll(root, (e) => e.attrs.class === 'legend-label').map(textOf);
  // 8 of the 9 anomaly/normal pairs are ordered right.
  assert.deepEqual(legend, ['L2-softmax (AUROC = 0.889)', 'autoencoder (AUROC = 0.530)', 'chance (AUROC = 0.5)']);
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'x-label')[0]!), 'False positive rate');
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'y-label')[0]!), 'True positive rate');
});

test('ROC chart rejects rates outside [0, 1] and mismatched lengths', () => {
  assert.throws(() => rocChart([{ label: 'a', fpr: [0, 1.5], tpr: [0, 1], auroc: 0.5 }]), /Expected values in \[0, 1\] for curves\[0\]\.fpr but received 1.5/);
  assert.throws(() => rocChart([{ label: 'a', fpr: [0, 1], tpr: [0], auroc: 0.5 }]), /same length/);
  assert.throws(() => rocChart([]), /Expected a non-empty array for curves but received \[\]/);
});

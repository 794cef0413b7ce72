import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scatterChart } from '../../src/report/scatter-chart.js';
import { findAll, parseXml, textOf } from './xml-check.js';

test('scatter colours points by group and skips non-finite points', () => {
  const root = parseXml(
    scatterChart(
      [
        { label: 'reference', x: [0, 1, 2], y: [0, 1, 0] },
        { label: 'normal', x: [1, NaN], y: [2, 1] },
        { label: 'anomaly', x: [3], y: [3] },
      ],
      { title: 'PCA', xLabel: 'PC 1', yLabel: 'PC 2' },
    ),
  );
  const series = findAll(root, (e) => e.attrs.class === 'series');
  assert.deepEqual(series.map((s) => s.children.filter((c) => c.name === 'circle').length), [3, 1, 1]);
  assert.equal(new Set(series.map((s) => s.attrs.fill)).size, 3);
  assert.deepEqual(findAll(root, (e) => e.attrs.class === 'legend-label').map(textOf), ['reference (n = 3)', 'normal (n = 1)', 'anomaly (n = 1)']);
});

test('a single point and a group colour override work', () => {
  const root = parseXml(scatterChart([{ label: 'only', x: [5], y: [5], color: '#123456' }]));
  assert.equal(findAll(root, (e) => e.attrs.class === 'series')[0]!.attrs.fill, '#123456');
});

test('empty or all-NaN groups are clear errors', () => {
  assert.throws(() => scatterChart([{ label: 'a', x: [], y: [] }]), /Expected a non-empty array of numbers for groups\[0\]\.x but received \[\]/);
  assert.throws(() => scatterChart([{ label: 'a', x: [1], y: [NaN] }]), /groups\[0\] \("a"\)/);
  assert.throws(() => scatterChart([{ label: 'a', x: [1, 2], y: [1] }]), /same length/);
});

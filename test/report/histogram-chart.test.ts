import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramChart, histogramCounts } from '../../src/report/histogram-chart.js';
import { findAll, parseXml, textOf } from './xml-check.js';

test('histogramCounts bins values, the last bin closed on the right, non-finite ignored', () => {
  assert.deepEqual(histogramCounts([0, 0.1, 0.5, 0.99, 1, NaN, 2], [0, 0.5, 1]), [2, 3]);
});

test('overlaid semi-transparent histograms, one path per group, legend with counts', () => {
  const normal = Array.from({ length: 200 }, (_, i) => Math.sin(i) * 0.5);
  const anomaly = Array.from({ length: 50 }, (_, i) => 0.5 + Math.cos(i) * 0.5);
  const root = parseXml(histogramChart([{ label: 'normal', values: normal }, { label: 'anomaly', values: anomaly }], { title: 'Scores' }));
  const series = findAll(root, (e) => e.attrs.class === 'series');
  assert.equal(series.length, 2);
  for (const s of series) {
    const paths = s.children.filter((c) => c.name === 'path');
    assert.equal(paths.length, 1);
    const opacity = Number(paths[0]!.attrs['fill-opacity']);
    assert.ok(opacity > 0 && opacity < 1, 'fills are semi-transparent so overlaps stay visible');
  }
  assert.deepEqual(findAll(root, (e) => e.attrs.class === 'legend-label').map(textOf), ['normal (n = 200)', 'anomaly (n = 50)']);
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'y-label')[0]!), 'Density');
});

test('constant values and NaN are handled; empty groups are a clear error', () => {
  const svg = histogramChart([{ label: 'a', values: [3, 3, 3, NaN] }, { label: 'b', values: [3] }], { density: false });
  assert.doesNotMatch(svg, /NaN|Infinity/);
  parseXml(svg);
  assert.throws(
    () => histogramChart([{ label: 'normal', values: [1, 2] }, { label: 'anomaly', values: [] }]),
    /Expected a non-empty array of numbers for groups\[1\]\.values but received \[\]/,
  );
  assert.throws(() => histogramChart([{ label: 'x', values: [NaN] }]), /groups\[0\]\.values \("x"\)/);
  assert.throws(() => histogramChart([{ label: 'x', values: [1] }], { bins: 0 }), /Expected integer between 1 and 1000 for bins but received 0/);
});

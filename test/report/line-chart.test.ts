import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChart } from '../../src/report/line-chart.js';
import { findAll, parseXml, textOf } from './xml-check.js';

const curves = [
  { label: 'softmax', y: [0.31, 0.45, 0.52, 0.58, 0.61] },
  { label: 'l2softmax', y: [0.33, 0.49, 0.57, 0.63, 0.66] },
];

test('line chart is well-formed SVG with one path per series, legend labels, title and axis titles', () => {
  const svg = lineChart(curves, { title: 'Validation accuracy', xLabel: 'Epoch', yLabel: 'Accuracy' });
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.width, '640');
  assert.equal(root.attrs.height, '480');
  const series = findAll(root, (e) => e.attrs.class === 'series');
  assert.deepEqual(series.map((s) => s.attrs['data-label']), ['softmax', 'l2softmax']);
  for (const s of series) assert.equal(s.children.filter((c) => c.name === 'path').length, 1);
  const legend = findAll(root, (e) => e.attrs.class === 'legend-label').map(textOf);
  assert.deepEqual(legend, ['softmax', 'l2softmax']);
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'chart-title')[0]!), 'Validation accuracy');
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'x-label')[0]!), 'Epoch');
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'y-label')[0]!), 'Accuracy');
  // Distinct colours per series.
  const strokes = series.map((s) => s.children.find((c) => c.name === 'path')!.attrs.stroke);
  assert.notEqual(strokes[0], strokes[1]);
});

test('integer x values (epochs) get integer ticks only', () => {
  const root = parseXml(lineChart([{ label: 'a', y: [0.1, 0.2, 0.3] }]));
  const ticks = findAll(root, (e) => e.attrs.class === 'tick-labels')[0]!.children.filter((c) => c.attrs['text-anchor'] === 'middle').map(textOf);
  assert.deepEqual(ticks, ['1', '2', '3']);
});

test('NaN breaks the line into two subpaths instead of failing', () => {
  const root = parseXml(lineChart([{ label: 'a', y: [1, 2, NaN, 3, 4] }]));
  const d = findAll(root, (e) => e.attrs.class === 'series')[0]!.children.find((c) => c.name === 'path')!.attrs.d!;
  assert.equal((d.match(/M/g) ?? []).length, 2);
  assert.doesNotMatch(d, /NaN/);
});

test('single points and constant series render with markers and a sane range', () => {
  const svg = lineChart([{ label: 'one', y: [0.5] }, { label: 'flat', y: [0.7, 0.7, 0.7] }], { markers: false });
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const root = parseXml(svg);
  const one = findAll(root, (e) => e.attrs['data-label'] === 'one')[0]!;
  assert.equal(one.children.filter((c) => c.name === 'circle').length, 1, 'an isolated point is drawn as a dot');
});

test('text is escaped', () => {
  const svg = lineChart([{ label: '<b>&"x"', y: [1, 2] }], { title: 'a < b & c' });
  const root = parseXml(svg);
  assert.equal(findAll(root, (e) => e.attrs.class === 'legend-label').map(textOf)[0], '<b>&"x"');
  assert.equal(textOf(findAll(root, (e) => e.attrs.class === 'chart-title')[0]!), 'a < b & c');
});

test('many series stay distinguishable (colour or dash)', () => {
  const series = Array.from({ length: 12 }, (_, i) => ({ label: `s${i}`, y: [i, i + 1] }));
  const root = parseXml(lineChart(series));
  const styles = findAll(root, (e) => e.attrs.class === 'series').map((s) => {
    const p = s.children.find((c) => c.name === 'path')!;
    return `${p.attrs.stroke}/${p.attrs['stroke-dasharray'] ?? ''}`;
  });
  assert.equal(new Set(styles).size, 12);
});

test('argument errors say what was expected and what was received', () => {
  assert.throws(() => lineChart([]), /Expected a non-empty array for series but received \[\]/);
  assert.throws(() => lineChart([{ label: 'a', y: [] }]), /Expected a non-empty array of numbers for series\[0\]\.y but received \[\]/);
  assert.throws(() => lineChart([{ label: 'a', y: [1, 2], x: [1] }]), /same length/);
  assert.throws(() => lineChart([{ label: 'a', y: [NaN, NaN] }]), /every value is NaN/);
  assert.throws(() => lineChart([{ label: 'a', y: [1] }], { width: 5 }), /Expected integer between 100 and 10000 for width but received 5/);
  assert.throws(() => lineChart([{ label: 'a', y: [1] }], { yDomain: [1, 0] }), /yDomain/);
});

test('a fixed y domain clips data outside it inside the plot viewport', () => {
  const root = parseXml(lineChart([{ label: 'a', y: [0, 5, 10] }], { yDomain: [0, 1] }));
  const viewport = findAll(root, (e) => e.name === 'svg' && e.attrs.overflow === 'hidden');
  assert.equal(viewport.length, 1);
  assert.equal(findAll(viewport[0]!, (e) => e.attrs.class === 'series').length, 1);
});

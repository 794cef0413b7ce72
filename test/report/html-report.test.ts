import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HtmlReport, flattenConfig, sanitizeSvgForInline } from '../../src/report/html-report.js';
import { lineChart } from '../../src/report/line-chart.js';
import { findAll, parseXml, textOf } from './xml-check.js';

const chart = lineChart([{ label: 'softmax', y: [0.1, 0.2] }], { title: 'Curves' });

function build(): HtmlReport {
  return new HtmlReport({ title: 'Compare <heads>', subtitle: 'CIFAR-10', generatedAt: null })
    .config({ epochs: 3, optimizer: { name: 'adam', lr: 1e-4, amsgrad: true }, heads: ['softmax', 'l2softmax'] })
    .table(
      [
        { head: 'softmax', best_val_acc: 0.61234, best_epoch: 3 },
        { head: 'l2softmax', best_val_acc: 0.65, best_epoch: 2 },
      ],
      { heading: 'Results', caption: 'Best validation accuracy', highlight: { column: 'best_val_acc', best: 'max' } },
    )
    .figure(chart, { heading: 'Curves', caption: 'Validation accuracy per epoch' })
    .notes('Watch out: <script>alert(1)</script> & more.\n\nSecond paragraph.', { heading: 'Notes' });
}

test('report escapes user text, including <script>', () => {
  const html = build().toHtml();
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; more\./);
  assert.match(html, /<title>Compare &lt;heads&gt;<\/title>/);
});

test('report is self-contained, well-formed and inlines the SVG', () => {
  const html = build().toHtml();
  // The only URL allowed is the SVG namespace name, which is never fetched.
  assert.doesNotMatch(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', ''), /<link|<img|src=|href=|url\(|https?:\/\//i);
  // The document is written as XHTML-compatible markup, so the strict checker can read it.
  const root = parseXml(html.replace('<meta charset="utf-8">', '<meta charset="utf-8"/>').replace(/<meta name="viewport"[^>]*>/, ''));
  const figure = findAll(root, (e) => e.name === 'figure')[0]!;
  assert.equal(figure.children[0]!.name, 'svg');
  assert.equal(textOf(figure.children.find((c) => c.name === 'figcaption')!), 'Validation accuracy per epoch');
  const config = findAll(root, (e) => e.attrs.class === 'config')[0]!;
  const pairs = findAll(config, (e) => e.name === 'tr').map((tr) => tr.children.map(textOf));
  assert.deepEqual(pairs, [
    ['epochs', '3'],
    ['optimizer.name', 'adam'],
    ['optimizer.lr', '0.0001'],
    ['optimizer.amsgrad', 'true'],
    ['heads', '["softmax","l2softmax"]'],
  ]);
  const results = findAll(root, (e) => e.attrs.class === 'results')[0]!;
  const cells = findAll(results, (e) => e.name === 'td');
  assert.deepEqual(cells.map(textOf), ['softmax', '0.6123', '3', 'l2softmax', '0.6500', '2']);
  assert.deepEqual(cells.filter((c) => c.attrs.class?.includes('best')).map(textOf), ['0.6500']);
  assert.equal(cells[1]!.attrs.class, 'num');
});

test('report write is atomic and leaves only the report', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'deepmetric-report-'));
  try {
    const file = path.join(dir, 'report.html');
    await build().write(file);
    assert.match(await readFile(file, 'utf8'), /^<!DOCTYPE html>/);
    assert.deepEqual(await readdir(dir), ['report.html']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('unsafe or non-SVG figures are refused', () => {
  assert.throws(() => sanitizeSvgForInline('<svg><script>x</script></svg>'), /without scripts.*<script>/);
  assert.throws(() => sanitizeSvgForInline('<svg onload="x()"></svg>'), /event-handler/);
  assert.throws(() => sanitizeSvgForInline('<svg><image href="https://x/y.png"/></svg>'), /external/);
  assert.throws(() => sanitizeSvgForInline('<p>no</p>'), /Expected an SVG document/);
  assert.equal(sanitizeSvgForInline('<?xml version="1.0"?>\n<svg></svg>'), '<svg></svg>');
});

test('argument checks', () => {
  assert.throws(() => new HtmlReport({ title: '' }), /Expected a non-empty string for options.title/);
  assert.throws(() => new HtmlReport({ title: 't' }).table([]), /Expected a non-empty array of row objects for rows but received \[\]/);
  assert.throws(() => new HtmlReport({ title: 't' }).table([{ a: 1 }], { highlight: { column: 'b', best: 'max' } }), /highlight.column/);
  assert.deepEqual(flattenConfig({ a: { b: { c: 1 } }, d: {} }), [['a.b.c', 1], ['d', '{}']]);
});

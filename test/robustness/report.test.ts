// Markup where text belongs: a class named like an HTML tag travels through `anomaly` into
// anomaly.json, the charts and report.html as text — shown, never run, and never a failed report.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, tempDir } from './bad-input.js';
import { writeColourFolder } from '../cli/synthetic-folder.js';
import { findAll, parseXml, textOf } from '../report/xml-check.js';
import { anomalyCommand } from '../../src/cli/anomaly.js';
import { sanitizeSvgForInline } from '../../src/report/html-report.js';
import { lineChart } from '../../src/report/line-chart.js';

const root = tempDir('report');
const MARKUP = '<img src=x onerror=alert(1)>';

badInput('report/markup-class-name', 'a class named <img src=x onerror=alert(1)> gives a report that shows the name and runs nothing', async () => {
  const data = join(root, 'data');
  await writeColourFolder(data, { train: 10, test: 4 }, { [MARKUP]: [200, 40, 40], blue: [40, 40, 200], green: [40, 200, 40] }, 13);
  const out = join(root, 'run');
  // stdout stays: the test reporter writes there.
  const write = { err: process.stderr.write };
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await anomalyCommand(['--normal', MARKUP, '--anomaly', 'blue', '--data', data, '--cache-dir', join(root, 'cache'), '--threads', '1',
      '--heads', 'softmax', '--backbone', 'convnet', '--epochs', '1', '--batch-size', '8', '--out', out]);
  } finally {
    process.stderr.write = write.err;
  }
  const results = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  assert.deepEqual(results.protocol.normal, [MARKUP]);
  assert.ok(existsSync(join(out, 'report.html')), 'report.html was written');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.ok(!/<img\b/i.test(html), 'no <img> element in the report');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the class name is shown as text');
  const svgs = (html.match(/<figure>[\s\S]*?<\/figure>/g) ?? []).map((f) => f.slice(f.indexOf('<svg'), f.lastIndexOf('</svg>') + 6));
  assert.ok(svgs.length >= 3, `${svgs.length} inline charts`);
  for (const svg of svgs) {
    const tree = parseXml(svg);
    assert.deepEqual(findAll(tree, (e) => e.name.toLowerCase() === 'img' || Object.keys(e.attrs).some((a) => a.toLowerCase().startsWith('on'))), []);
  }
  assert.ok(svgs.some((svg) => findAll(parseXml(svg), (e) => e.name === 'text' && textOf(e).includes(MARKUP)).length > 0), 'a chart legend shows the name');
});

badInput('report/svg-text-that-looks-like-code', 'chart text such as onload=… or <script> (escaped) is accepted; the same markup as elements is refused', () => {
  const svg = lineChart([{ label: `x onload=alert(1) <script>alert(1)</script> href="javascript:x"`, x: [0, 1], y: [0, 1] }], { title: MARKUP });
  assert.equal(sanitizeSvgForInline(svg), svg.replace(/^<\?xml[^>]*\?>\s*/, '').trim());
  const inject = (markup: string) => svg.replace('</svg>', `${markup}</svg>`);
  assert.throws(() => sanitizeSvgForInline(inject('<script>alert(1)</script>')), /a <script> element/);
  assert.throws(() => sanitizeSvgForInline(inject('<g onload="alert(1)"></g>')), /an event-handler attribute \(onload on <g>\)/);
  assert.throws(() => sanitizeSvgForInline(inject('<a href="javascript:alert(1)"><text>x</text></a>')), /an external or javascript: link/);
  assert.throws(() => sanitizeSvgForInline(inject('<image xlink:href="https://evil.example/x.png"/>')), /an external or javascript: link/);
  assert.throws(() => sanitizeSvgForInline(inject('<set attributeName="href" to="javascript:alert(1)"/>')), /a <set> element/);
  assert.throws(() => sanitizeSvgForInline(inject('<rect style="fill:url(https://evil.example/a)"/>')), /an external url\(\) reference/);
  assert.throws(() => sanitizeSvgForInline(inject('<style>@import "https://evil.example/a.css";</style>')), /an external reference in a <style> element/);
  assert.throws(() => sanitizeSvgForInline(inject('<![CDATA[<script>alert(1)</script>]]>')), /markup that is not a plain element tag/);
  assert.throws(() => sanitizeSvgForInline(inject('<g onclick=alert(1)></g>')), /markup that is not a plain element tag/, 'unquoted attributes are refused');
});

badInput('report/report-path-blocked', 'when report.html cannot be written, anomaly.json with every result is already on disk', async () => {
  const data = join(root, 'data');
  if (!existsSync(data)) await writeColourFolder(data, { train: 10, test: 4 }, { [MARKUP]: [200, 40, 40], blue: [40, 40, 200], green: [40, 200, 40] }, 13);
  const out = join(root, 'blocked');
  mkdirSync(join(out, 'report.html'), { recursive: true }); // a folder where the report should go
  // stdout stays: the test reporter writes there.
  const write = { err: process.stderr.write };
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await assert.rejects(anomalyCommand(['--normal', 'green', '--anomaly', 'blue', '--data', data, '--cache-dir', join(root, 'cache'), '--threads', '1',
      '--heads', 'softmax', '--backbone', 'convnet', '--epochs', '1', '--batch-size', '8', '--out', out]), /cannot write .*blocked\/report\.html/);
  } finally {
    process.stderr.write = write.err;
  }
  const results = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  assert.equal(results.results.length, 1);
  assert.ok(results.results[0].auroc >= 0 && results.results[0].auroc <= 1);
});

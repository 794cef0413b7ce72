import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { lineChart } from '../../src/report/line-chart.js';
import { svgToPng, writeChart } from '../../src/report/png.js';

const svg = lineChart(
  [
    { label: 'softmax', y: [0.3, 0.5, 0.6, 0.65] },
    { label: 'l2softmax', y: [0.35, 0.55, 0.66, 0.7] },
  ],
  { title: 'Validation accuracy', xLabel: 'Epoch', yLabel: 'Accuracy', width: 400, height: 300 },
);

async function pixelStats(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const colours = new Set<number>();
  let dark = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    if (data[i]! < 100 && data[i + 1]! < 100 && data[i + 2]! < 100) dark++;
  }
  return { info, colours: colours.size, dark };
}

test('svgToPng decodes, has the chart size and is not blank', async () => {
  const png = await svgToPng(svg);
  const { info, colours } = await pixelStats(png);
  assert.equal(info.width, 400);
  assert.equal(info.height, 300);
  assert.ok(colours > 10, `expected many colours, got ${colours}`);
  // Only the title lives in the top strip: dark pixels there prove a font was found to draw text.
  const title = await pixelStats(await sharp(png).extract({ left: 0, top: 0, width: 400, height: 28 }).png().toBuffer());
  assert.ok(title.dark > 50, `expected the title text to render (is a font such as fonts-dejavu-core installed?), got ${title.dark} dark pixels`);
});

test('svgToPng scale multiplies the size', async () => {
  const meta = await sharp(await svgToPng(svg, { scale: 2 })).metadata();
  assert.equal(meta.width, 800);
  assert.equal(meta.height, 600);
  await assert.rejects(svgToPng(svg, { scale: 0 }), /Expected a number in \(0, 8\] for scale but received 0/);
  await assert.rejects(svgToPng('hello'), /Expected an SVG document string for svg/);
});

test('writeChart writes name.svg and name.png and leaves no temporary files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'deepmetric-chart-'));
  try {
    const out = await writeChart(path.join(dir, 'nested'), 'val_acc', svg);
    assert.equal(out.svgPath, path.join(dir, 'nested', 'val_acc.svg'));
    assert.equal(await readFile(out.svgPath, 'utf8'), svg);
    const meta = await sharp(out.pngPath).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 400);
    assert.deepEqual((await readdir(path.join(dir, 'nested'))).sort(), ['val_acc.png', 'val_acc.svg']);
    await assert.rejects(writeChart(dir, '../evil', svg), /Expected a file name/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

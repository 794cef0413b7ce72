// Charts: the project's hand-written SVG charts (src/report) vs the same charts as vega-lite
// specs rendered headless by vega's View.toSVG(), then both through the project's svgToPng.
//
//   node bench/deps/charts.mjs [--rounds 7] [--out /tmp/deps-eval/charts]
//
// Set-up (scratch install, build) at the top of bench/deps/common.mjs. Writes <name>.project.png
// and <name>.vega.png (+ .svg) for each chart into --out, and <name>.compare.png with the two side
// by side (project left). Prints render times (median, min–max over the rounds; the two renderers
// alternate within each round because the machine is shared) and the time a fresh process takes
// to import each renderer (what every CLI command that draws a chart pays once).
//
// Data: the line chart uses the committed seed run (docs/results/seed/results.json). The ROC,
// histogram and scatter inputs are not stored in any results file, so they are drawn with a fixed
// seed in the shape of the committed anomaly run (docs/results/anomaly-convnet/anomaly.json):
// 18 rows of 1000 normal + 1000 anomaly scores, each row at the AUROC reported there (binormal
// scores), and three 1000-point embedding clouds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DIST, EVAL_DIR, normal, probit, projectImport, REPO, rng, scratchImport, spread } from './common.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const ROUNDS = Number(opt('--rounds', 7));
const OUT = opt('--out', '/tmp/deps-eval/charts');
mkdirSync(OUT, { recursive: true });

const vega = await scratchImport('vega');
const vl = await scratchImport('vega-lite');
const { rocChart } = await projectImport('src/report/roc-chart.js');
const { lineChart } = await projectImport('src/report/line-chart.js');
const { histogramChart } = await projectImport('src/report/histogram-chart.js');
const { scatterChart } = await projectImport('src/report/scatter-chart.js');
const { PALETTE } = await projectImport('src/report/palette.js');
const { svgToPng } = await projectImport('src/report/png.js');
const { rocCurve, auroc } = await projectImport('src/eval/roc.js');

// ---- data -------------------------------------------------------------------------------------
const seed = JSON.parse(readFileSync(join(REPO, 'docs/results/seed/results.json'), 'utf8'));
const anomalyRun = JSON.parse(readFileSync(join(REPO, 'docs/results/anomaly-convnet/anomaly.json'), 'utf8'));
const gauss = normal(rng(0));
const draw = (n, mean = 0, sd = 1) => Array.from({ length: n }, () => mean + sd * gauss());

// Binormal scores with equal variance have AUROC = Φ(d/√2), so d = √2 Φ⁻¹(AUROC).
const rows = anomalyRun.results.slice(0, 18).map((r) => {
  const d = Math.SQRT2 * probit(r.auroc);
  const normalScores = draw(1000);
  const anomalyScores = draw(1000, d);
  const scores = [...normalScores, ...anomalyScores];
  const labels = scores.map((_, i) => (i < 1000 ? 0 : 1));
  const curve = rocCurve(scores, labels);
  return { label: `${r.head} · ${r.score}`, fpr: curve.fpr, tpr: curve.tpr, auroc: auroc(scores, labels), normalScores, anomalyScores };
}).sort((a, b) => b.auroc - a.auroc);
const best = rows[0];
const sigmoid = (v) => 1 / (1 + Math.exp(-v));
const histGroups = [
  { label: 'normal (cat)', values: best.normalScores.map(sigmoid) },
  { label: 'anomaly (dog)', values: best.anomalyScores.map(sigmoid) },
];
const cloud = (n, mx, my, sx, sy) => ({ x: draw(n, mx, sx), y: draw(n, my, sy) });
const scatterGroups = [
  { label: 'reference (airplane,automobile,bird,deer,frog,horse,ship,truck)', color: '#a0a0a0', ...cloud(1000, 0, -0.6, 0.7, 0.6) },
  { label: 'normal (cat)', color: PALETTE[0], ...cloud(1000, 0, 0.2, 0.6, 0.45) },
  { label: 'anomaly (dog)', color: PALETTE[1], ...cloud(1000, 0.05, 0.3, 0.6, 0.45) },
];
const lineSeries = seed.heads.map((h) => ({ label: `${h.name} (best ${h.best_val_acc.toFixed(4)})`, x: h.history.map((e) => e.epoch), y: h.history.map((e) => e.val_acc) }));

// ---- the project's charts, exactly as src/cli/anomaly.ts and src/cli/compare.ts call them ------
const project = {
  roc: () => rocChart(rows.map((r) => ({ label: r.label, fpr: r.fpr, tpr: r.tpr, auroc: r.auroc })), { title: 'ROC: cat (normal) vs dog (anomaly)' }),
  line: () => lineChart(lineSeries, { title: 'Validation accuracy per epoch', xLabel: 'epoch', yLabel: 'validation accuracy' }),
  histogram: () => histogramChart(histGroups, { title: `Anomaly scores: ${best.label} (AUROC ${best.auroc.toFixed(3)})`, xLabel: 'anomaly score (higher = more anomalous)' }),
  scatter: () => scatterChart(scatterGroups, { title: 'Test embeddings of l2softmax, PCA', xLabel: 'PC1 (16.6% of variance)', yLabel: 'PC2 (14.1%)' }),
};

// ---- the same charts in vega-lite, styled as close to the project's look as vega-lite allows ----
// vega-lite has no "best" legend placement: each legend corner below is the one the project's
// "best" picks for this data (a person would have to choose it per chart).
// autosize "fit" makes width/height the whole image, as in the project (not just the plot area).
const CONFIG = {
  font: 'DejaVu Sans',
  background: '#ffffff',
  padding: 8,
  view: { stroke: '#000000', strokeWidth: 1 },
  // About one tick per 100 px (x) and 80 px (y), as the project's Axes aims for.
  axisX: { tickCount: 6 },
  axisY: { tickCount: 6 },
  axis: { grid: true, gridColor: '#b0b0b0', gridOpacity: 0.5, domain: false, tickColor: '#000000', tickSize: 5, labelFontSize: 12, labelColor: '#222222', titleFontSize: 14, titleFontWeight: 'normal', titleColor: '#222222', titlePadding: 10 },
  title: { fontSize: 16, fontWeight: 'normal', color: '#222222' },
  // labelLimit 0: without a canvas vega only estimates text width, and the default 160 px limit cuts long labels.
  legend: { title: null, labelFontSize: 12, labelLimit: 0, fillColor: 'rgba(255,255,255,0.85)', strokeColor: '#cccccc', padding: 8, cornerRadius: 3, symbolStrokeWidth: 2, offset: 8 },
  range: { category: PALETTE },
};
const base = (width, height, title) => ({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width, height, title, autosize: { type: 'fit', contains: 'padding' }, config: CONFIG });

function rocSpec() {
  const labels = rows.map((r) => `${r.label} (AUROC = ${r.auroc.toFixed(3)})`);
  const chance = 'chance (AUROC = 0.5)';
  const values = rows.flatMap((r, i) => r.fpr.map((f, k) => ({ fpr: f, tpr: r.tpr[k], series: labels[i], k })));
  values.push({ fpr: 0, tpr: 0, series: chance, k: 0 }, { fpr: 1, tpr: 1, series: chance, k: 1 });
  const domain = [...labels, chance];
  return {
    ...base(560, 520, 'ROC: cat (normal) vs dog (anomaly)'),
    data: { values },
    mark: { type: 'line', strokeWidth: 2, clip: true },
    encoding: {
      x: { field: 'fpr', type: 'quantitative', title: 'False positive rate', scale: { domain: [-0.02, 1.02], nice: false } },
      y: { field: 'tpr', type: 'quantitative', title: 'True positive rate', scale: { domain: [-0.02, 1.02], nice: false } },
      order: { field: 'k' },
      color: { field: 'series', type: 'nominal', scale: { domain, range: [...domain.slice(0, -1).map((_, i) => PALETTE[i % 10]), '#7f7f7f'] }, legend: { orient: 'bottom-right' } },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: domain.map((_, i) => (i === domain.length - 1 ? [5, 4] : i < 10 ? [1, 0] : [6, 3])) } },
    },
  };
}

function lineSpec() {
  const values = lineSeries.flatMap((s) => s.x.map((x, k) => ({ epoch: x, acc: s.y[k], series: s.label })));
  return {
    ...base(640, 480, 'Validation accuracy per epoch'),
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: { size: 28, filled: true } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 }, scale: { zero: false, padding: 16 } },
      y: { field: 'acc', type: 'quantitative', title: 'validation accuracy', scale: { zero: false, padding: 16 } },
      color: { field: 'series', type: 'nominal', sort: null, legend: { orient: 'bottom-right' } },
    },
  };
}

function histogramSpec() {
  const all = histGroups.flatMap((g) => g.values);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const bins = Math.min(60, Math.max(10, Math.round(Math.sqrt(all.length))));
  const step = (hi - lo) / bins;
  const values = histGroups.flatMap((g) => g.values.map((v) => ({ v, group: `${g.label} (n = ${g.values.length})` })));
  return {
    ...base(640, 480, `Anomaly scores: ${best.label} (AUROC ${best.auroc.toFixed(3)})`),
    data: { values },
    transform: [
      { bin: { extent: [lo, hi], step, nice: false }, field: 'v', as: ['b0', 'b1'] },
      { aggregate: [{ op: 'count', as: 'count' }], groupby: ['group', 'b0', 'b1'] },
      { joinaggregate: [{ op: 'sum', field: 'count', as: 'n' }], groupby: ['group'] },
      { calculate: `datum.count / (datum.n * ${step})`, as: 'density' },
    ],
    mark: { type: 'rect', opacity: 0.45, strokeWidth: 1.2, strokeOpacity: 1 },
    encoding: {
      x: { field: 'b0', type: 'quantitative', title: 'anomaly score (higher = more anomalous)', scale: { zero: false } },
      x2: { field: 'b1' },
      y: { field: 'density', type: 'quantitative', title: 'Density', stack: null },
      color: { field: 'group', type: 'nominal', sort: null, legend: { orient: 'top-left' } },
      stroke: { field: 'group', type: 'nominal', sort: null },
    },
  };
}

function scatterSpec() {
  const values = scatterGroups.flatMap((g) => g.x.map((x, k) => ({ x, y: g.y[k], group: `${g.label} (n = ${g.x.length})` })));
  const domain = scatterGroups.map((g) => `${g.label} (n = ${g.x.length})`);
  return {
    ...base(640, 480, 'Test embeddings of l2softmax, PCA'),
    data: { values },
    mark: { type: 'circle', size: Math.PI * 2.5 * 2.5, opacity: 0.7 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'PC1 (16.6% of variance)', scale: { zero: false, padding: 12 } },
      y: { field: 'y', type: 'quantitative', title: 'PC2 (14.1%)', scale: { zero: false, padding: 12 } },
      color: { field: 'group', type: 'nominal', scale: { domain, range: scatterGroups.map((g) => g.color) }, legend: { orient: 'top-left' } },
    },
  };
}

const specs = { roc: rocSpec, line: lineSpec, histogram: histogramSpec, scatter: scatterSpec };

async function vegaSvg(spec) {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// ---- timing -----------------------------------------------------------------------------------
const names = Object.keys(project);
const times = Object.fromEntries(names.map((n) => [n, { project: [], vega: [], projectPng: [], vegaPng: [] }]));
const last = {};
// One untimed warm-up round, so JIT and font caches do not land in the first round.
for (const n of names) {
  await svgToPng(project[n]());
  await svgToPng(await vegaSvg(specs[n]()));
}
for (let round = 0; round < ROUNDS; round++) {
  for (const n of names) {
    const order = round % 2 === 0 ? ['project', 'vega'] : ['vega', 'project'];
    for (const who of order) {
      let t = performance.now();
      const svg = who === 'project' ? project[n]() : await vegaSvg(specs[n]());
      times[n][who].push(performance.now() - t);
      t = performance.now();
      const png = await svgToPng(svg);
      times[n][`${who}Png`].push(performance.now() - t);
      last[`${n}.${who}`] = { svg, png };
    }
  }
}
for (const [key, { svg, png }] of Object.entries(last)) {
  writeFileSync(join(OUT, `${key}.svg`), svg);
  writeFileSync(join(OUT, `${key}.png`), png);
}
// Side by side (project left, vega right), palette PNG to stay small in docs/dependencies/.
const sharp = (await import('sharp')).default;
for (const n of names) {
  const left = last[`${n}.project`].png;
  const right = last[`${n}.vega`].png;
  const [a, b] = await Promise.all([sharp(left).metadata(), sharp(right).metadata()]);
  const gap = 16;
  await sharp({ create: { width: a.width + gap + b.width, height: Math.max(a.height, b.height), channels: 3, background: '#ffffff' } })
    .composite([{ input: left, left: 0, top: 0 }, { input: right, left: a.width + gap, top: 0 }])
    .png({ palette: true, colours: 256, dither: 0, compressionLevel: 9 })
    .toFile(join(OUT, `${n}.compare.png`));
}

console.log(`rounds: ${ROUNDS}; times in ms, median (min–max); files in ${OUT}`);
console.log('chart      | project SVG      | vega-lite+vega SVG | project SVG→PNG   | vega SVG→PNG      | SVG bytes project / vega');
for (const n of names) {
  const t = times[n];
  const bytes = `${last[`${n}.project`].svg.length} / ${last[`${n}.vega`].svg.length}`;
  console.log(`${n.padEnd(10)} | ${spread(t.project).padEnd(16)} | ${spread(t.vega).padEnd(18)} | ${spread(t.projectPng).padEnd(17)} | ${spread(t.vegaPng).padEnd(17)} | ${bytes}`);
}

// Import cost in a fresh process, alternating the two; the child reports its own import time.
const resolveScratch = (name) => pathToFileURL(createRequire(join(EVAL_DIR, 'package.json')).resolve(name)).href;
const importers = {
  'project src/report': [pathToFileURL(join(DIST, 'src/report/index.js')).href],
  'vega + vega-lite': [resolveScratch('vega'), resolveScratch('vega-lite')],
};
const importTimes = Object.fromEntries(Object.keys(importers).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(importers);
  if (round % 2) order.reverse();
  for (const name of order) {
    const code = `const t = performance.now(); ${importers[name].map((u) => `await import(${JSON.stringify(u)});`).join(' ')} console.log(performance.now() - t);`;
    importTimes[name].push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })));
  }
}
console.log('\nimport in a fresh process, ms median (min–max):');
for (const [name, t] of Object.entries(importTimes)) console.log(`  ${name.padEnd(20)} ${spread(t)}`);

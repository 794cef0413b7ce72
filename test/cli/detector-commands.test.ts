// The detector commands end to end on tiny generated folders: fit-detector on a one-class layout
// (MVTec-like train/good, test/good, test/crack) with the autoencoder and a clear error for heads;
// score on files, a folder with a non-image and a corrupt JPEG, and a tar archive (rows, exit code,
// CSV, report); index → search finds an indexed image itself at distance ≈ 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, liveTensors, manualSeed } from '../../src/index.js';
import { decodeBundle, encodeBundle } from '../../src/serialize/checked-bundle.js';
import { INDEX_BUNDLE } from '../../src/search/image-index.js';
import { UsageError } from '../../src/cli/args.js';
import { fitDetectorCommand } from '../../src/cli/fit-detector.js';
import { anomalyCommand } from '../../src/cli/anomaly.js';
import { scoreCommand } from '../../src/cli/score.js';
import { indexCommand, searchCommand } from '../../src/cli/index-search.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { repoRoot, quietly } from '../helpers.js';
import { writeTar } from '../data/fixtures.js';
import { writeColourFolder } from './synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-detector-cli-'));
const oneClass = join(root, 'one-class');
const cacheDir = join(root, 'cache');
const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const common = ['--cache-dir', cacheDir, '--threads', '1', '--batch-size', '8', '--epochs', '1'];

/** MVTec-like: train/good, test/good, test/crack (blue-ish images are the defects). */
const dataReady = (async () => {
  await writeColourFolder(oneClass, { train: 16, test: 6 }, { good: [200, 40, 40] }, 1);
  await writeColourFolder(join(root, 'crack-src'), { train: 0, test: 6 }, { crack: [40, 40, 200] }, 2);
  mkdirSync(join(oneClass, 'test', 'crack'), { recursive: true });
  for (const f of readdirSync(join(root, 'crack-src', 'test', 'crack'))) copyFileSync(join(root, 'crack-src', 'test', 'crack', f), join(oneClass, 'test', 'crack', f));
})();

let detectorPath = '';

test('fit-detector on one-class data: the autoencoder works, a head is a clear error naming the methods that can', async () => {
  await dataReady;
  const base = liveTensors();
  await assert.rejects(quietly(() => fitDetectorCommand(['--data', oneClass, ...common, '--normal', 'good', '--method', 'softmax', '--out', join(root, 'head')])),
    (e: Error) => e instanceof UsageError && /'softmax' learns by telling classes apart, so it needs at least 2 training classes but received 1 \('good'\).*alone: autoencoder/.test(e.message));
  const out = join(root, 'ae');
  const r = await quietly(() => fitDetectorCommand(['--data', oneClass, ...common, '--normal', 'good', '--method', 'autoencoder', '--threshold-fpr', '0.2', '--out', out]));
  assert.equal(liveTensors(), base);
  detectorPath = r.path;
  assert.equal(r.path, join(out, 'detector.dmdet'));
  const m = r.manifest;
  assert.deepEqual(m.normal_classes, ['good']);
  assert.equal(m.method.kind, 'autoencoder');
  assert.equal(m.dataset.n_fit, 16);
  assert.equal(m.validation.n_normal, 6, 'test/good images choose the threshold');
  assert.deepEqual([m.threshold.rule, m.threshold.target], ['fpr', 0.2]);
  assert.ok(m.validation.fpr <= 0.2);
  assert.ok(m.neighbours.names!.every((n) => n.includes(join('train', 'good'))), 'neighbours are named by their files');
  assert.ok(existsSync(join(out, 'detector.json')));
  await assert.rejects(quietly(() => fitDetectorCommand(['--data', oneClass, ...common, '--normal', 'good', '--threshold-tpr', '0.9', '--out', out])), /fit-detector sees no anomaly images/);

  // anomaly on the same layout: test/crack is the anomaly class without --anomaly; the heads are skipped with --heads none.
  const a = await quietly(() => anomalyCommand(['--data', oneClass, ...common, '--normal', 'good', '--heads', 'none', '--baseline', 'autoencoder', '--out', join(root, 'anomaly')]));
  assert.deepEqual(a.protocol.anomaly, ['crack']);
  assert.equal(a.results.length, 1);
  assert.ok(existsSync(join(root, 'anomaly', 'detector.dmdet')));
  assert.equal(a.detector?.validation.n_anomaly, 6);
  await assert.rejects(quietly(() => anomalyCommand(['--data', oneClass, ...common, '--normal', 'good', '--out', join(root, 'anomaly-heads')])),
    (e: Error) => e instanceof UsageError && /every head learns by telling classes apart.*--heads none --baseline autoencoder/.test(e.message));
});

test('fit-detector --method rotation on one-class data: a fused rotation + k-NN detector with flip TTA that score reads; scores it cannot give are usage errors', async () => {
  await dataReady;
  const base = liveTensors();
  const out = join(root, 'rotation');
  const r = await quietly(() => fitDetectorCommand(['--data', oneClass, ...common, '--normal', 'good', '--method', 'rotation', '--score', 'fusion', '--fuse', 'rotation,knn',
    '--score-options', '{"knn":{"k":2}}', '--tta', 'flip', '--out', out]));
  assert.equal(liveTensors(), base);
  const m = r.manifest;
  assert.ok(m.method.kind === 'embedding');
  if (m.method.kind !== 'embedding') return;
  assert.equal(m.method.head.name, 'rotation');
  assert.deepEqual(m.method.scorer.components, [{ name: 'rotation', options: {} }, { name: 'knn', options: { k: 2, metric: 'cosine', reduce: 'mean' } }]);
  assert.equal(m.method.scorer.tta, 'flip');
  assert.deepEqual(Object.values(m.method.scorer.normalization!).map((z) => z.n), [6, 6], 'z-normalised on the 6 held-out normal (test/good) images');
  const scored = await quietly(() => scoreCommand(['--detector', r.path, '--threads', '1', '--k', '1', join(oneClass, 'test', 'crack'), join(oneClass, 'test', 'good')]));
  assert.equal(scored.results.length, 12);
  assert.equal(scored.n_failed, 0);
  assert.equal(liveTensors(), base);
  const run = (args: string[]) => quietly(() => fitDetectorCommand(['--data', oneClass, ...common, '--normal', 'good', '--out', join(root, 'bad'), ...args]));
  await assert.rejects(run(['--method', 'rotation', '--score', 'max-logit']), (e: Error) => e instanceof UsageError && /no class logits/.test(e.message));
  await assert.rejects(run(['--method', 'autoencoder', '--score', 'knn']), (e: Error) => e instanceof UsageError && /reconstruction error/.test(e.message));
});

test('score: files, a folder with a non-image and a corrupt JPEG, and a tar archive — one row each, failures reported, exit code 1', async () => {
  await dataReady;
  assert.ok(detectorPath, 'the fit-detector test ran first');
  const mixed = join(root, 'mixed');
  mkdirSync(mixed, { recursive: true });
  const good = join(oneClass, 'test', 'good', '0.png');
  copyFileSync(good, join(mixed, 'a-good.png'));
  copyFileSync(join(oneClass, 'test', 'crack', '0.png'), join(mixed, 'b-crack.png'));
  writeFileSync(join(mixed, 'c-notes.txt'), 'not an image\n');
  const jpeg = readFileSync(join(oneClass, 'test', 'good', '1.png'));
  writeFileSync(join(mixed, 'd-corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), jpeg.subarray(0, 40)]));
  const tar = join(root, 'batch.tar.gz');
  writeFileSync(tar, writeTar([{ path: 'x/e.png', data: readFileSync(good) }, { path: 'x/f.png', data: readFileSync(join(oneClass, 'test', 'crack', '1.png')) }], { gzip: true }));

  const base = liveTensors();
  const r = await quietly(() => scoreCommand(['--detector', detectorPath, '--threads', '1', '--k', '2', '--batch-size', '3', mixed, tar, join(root, 'missing.png')]));
  assert.equal(liveTensors(), base);
  assert.deepEqual(r.results.map((x) => x.file), [
    join(mixed, 'a-good.png'), join(mixed, 'b-crack.png'), join(mixed, 'c-notes.txt'), join(mixed, 'd-corrupt.jpg'), `${tar}:x/e.png`, `${tar}:x/f.png`, join(root, 'missing.png'),
  ]);
  assert.deepEqual(r.results.map((x) => x.verdict === 'error'), [false, false, true, true, false, false, true]);
  assert.equal(r.n_failed, 3);
  assert.match(r.results[2].error!, /c-notes\.txt: cannot decode image/);
  assert.ok(r.results.every((x) => !x.error?.includes('\n')), 'decode errors are one line (a table row, a CSV record)');
  assert.match(r.results[6].error!, /cannot read/);
  // Same image, same score, whether from the folder or the archive; the threshold decides the verdict.
  assert.ok(Math.abs(r.results[0].score! - r.results[4].score!) < 1e-6);
  const detector = AnomalyDetector.load(detectorPath);
  for (const x of r.results.filter((y) => y.score !== null)) {
    assert.equal(x.verdict, x.score! > detector.threshold ? 'anomaly' : 'normal');
    assert.equal(x.neighbours.length, 2);
    assert.match(x.neighbours[0].name!, /train.good.\d+\.png$/);
  }
  detector.dispose();

  // The command line: exit code 1 when a file failed, CSV and the HTML report with thumbnails.
  const csv = join(root, 'scores.csv');
  const report = join(root, 'report');
  const run = spawnSync(process.execPath, [cli, 'score', '--detector', detectorPath, '--threads', '1', '--csv', csv, '--report', report, mixed], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stdout, /a-good\.png/);
  assert.match(run.stdout, /4 files: \d anomalous, \d normal, 2 failed/);
  assert.match(run.stderr, /2 file\(s\) could not be read or decoded \(exit code 1\)/);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'file,score,threshold,verdict,neighbours,error');
  assert.equal(lines.length, 5);
  const html = readFileSync(join(report, 'report.html'), 'utf8');
  assert.match(html, /d-corrupt\.jpg/);
  const flagged = r.results.slice(0, 2).filter((x) => x.verdict === 'anomaly').length;
  assert.equal((html.match(/<figure class="flagged">/g) ?? []).length, flagged, 'each flagged image has its thumbnail');
  const okRun = spawnSync(process.execPath, [cli, 'score', '--detector', detectorPath, '--threads', '1', '--json', join(mixed, 'a-good.png')], { encoding: 'utf8' });
  assert.equal(okRun.status, 0, okRun.stderr);
  assert.equal(JSON.parse(okRun.stdout).results.length, 1);
});

test('index → search: an indexed image finds itself at distance ≈ 0, with its file name and label', async () => {
  const data = join(root, 'colours');
  await writeColourFolder(data, { train: 6, test: 2 }, { red: [200, 40, 40], blue: [40, 40, 200] }, 5);
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'convnet' });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 2 });
  const ckpt = join(root, 'model.ckpt');
  saveCheckpoint(ckpt, { modules: { model, head }, epoch: 1, config: { normalization: { kind: 'unit' } }, extra: { model: { name: 'convnet' }, head: head.config(), classes: ['blue', 'red'] } });
  model.dispose();
  head.dispose();
  const base = liveTensors();
  for (const kind of ['exact', 'hnsw']) {
    const out = join(root, `colours-${kind}.dmidx`);
    const built = await quietly(() => indexCommand(['--checkpoint', ckpt, '--data', data, '--cache-dir', cacheDir, '--threads', '1', '--kind', kind, '--out', out]));
    assert.equal(built.count, 12);
    const query = join(data, 'train', 'red', '3.png');
    const r = await quietly(() => searchCommand(['--index', out, '--threads', '1', '--k', '3', query, join(root, 'nope.png')]));
    const hit = r.results[0].hits[0];
    assert.equal(hit.name, query, kind);
    assert.equal(hit.label, 'red');
    assert.ok(Math.abs(hit.distance) < 1e-4, `${kind}: distance ${hit.distance}`);
    assert.equal(r.results[0].hits.length, 3);
    assert.match(r.results[1].error!, /cannot read/);
  }
  // The hnsw file holds its graph; without it (as the previous version wrote them) the graph is
  // rebuilt from the embeddings at load, and the same queries find the same images.
  const stored = join(root, 'colours-hnsw.dmidx');
  const rebuilt = join(root, 'colours-hnsw-no-graph.dmidx');
  const { tensors, manifest } = decodeBundle(readFileSync(stored), INDEX_BUNDLE, stored);
  assert.equal(tensors['hnsw.links']?.dtype, 'uint8');
  writeFileSync(rebuilt, encodeBundle(INDEX_BUNDLE, Object.fromEntries(Object.entries(tensors).filter(([k]) => k !== 'hnsw.links')), manifest));
  dispose(Object.values(tensors));
  const queries = ['train/red/3.png', 'test/blue/0.png', 'test/red/1.png'].map((f) => join(data, f));
  const [fromGraph, fromRebuild] = [await quietly(() => searchCommand(['--index', stored, '--threads', '1', '--k', '5', ...queries])),
    await quietly(() => searchCommand(['--index', rebuilt, '--threads', '1', '--k', '5', ...queries]))];
  assert.deepEqual(fromGraph.results, fromRebuild.results);
  assert.equal(liveTensors(), base);
  const cliRun = spawnSync(process.execPath, [cli, 'search', '--index', join(root, 'colours-exact.dmidx'), '--threads', '1', '--json', join(data, 'test', 'blue', '0.png')], { encoding: 'utf8' });
  assert.equal(cliRun.status, 0, cliRun.stderr);
  assert.equal(JSON.parse(cliRun.stdout).results[0].hits[0].label, 'blue');
});

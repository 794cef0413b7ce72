// Hostile detector and image-index files: a crafted HNSW graph never reaches hnswlib (it is checked
// completely first and refused, naming the fault), a manifest cannot make loading allocate what it
// likes, FIFOs and devices are refused at once, and fit-detector's --weights is loaded or refused.
import { before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, caseId, runCli, tempDir, type ChildRun } from './bad-input.js';
import { writeColourFolder } from '../cli/synthetic-folder.js';
import { decodeBundle, encodeBundle, readBundle, type BundleKind } from '../../src/serialize/checked-bundle.js';
import { loadSafetensors, saveSafetensors } from '../../src/serialize/safetensors.js';
import { DETECTOR_BUNDLE } from '../../src/anomaly/anomaly-detector.js';
import { INDEX_BUNDLE } from '../../src/search/image-index.js';
import { fitDetector } from '../../src/anomaly/fit-detector.js';
import { HnswIndex, hnswAvailable } from '../../src/eval/hnsw-index.js';
import { createBackbone } from '../../src/models/registry.js';
import { dispose, manualSeed, tensor, type Tensor } from '../../src/index.js';

const root = tempDir('detector');
const data = join(root, 'data');
const query = join(data, 'test', 'good', '0.png');
const detector = join(root, 'det', 'detector.dmdet');
const index = join(root, 'index.dmidx');
const common = ['--data', data, '--cache-dir', join(root, 'cache'), '--backbone', 'convnet', '--batch-size', '8', '--threads', '1'];
/** A loaded tiny model stays near 250 MB; what a hostile manifest asked for was gigabytes. */
const RSS_LIMIT_MB = 600;

function ok(r: ChildRun): void {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
}

/** A clear error: exit 1, or 2 for a usage error (never a signal), with a message matching `pattern`, memory bounded. */
function refused(r: ChildRun, pattern: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.ok(r.peakRssMb < RSS_LIMIT_MB, `peak RSS ${r.peakRssMb.toFixed(0)} MB`);
}

/** A copy of a bundle with its manifest and tensors edited, checksummed again (as anyone can). */
function rewrite(from: string, to: string, kind: BundleKind, edit: (manifest: Record<string, any>, tensors: Record<string, Tensor>) => void): string {
  const { tensors, manifest } = decodeBundle<Record<string, any>>(readFileSync(from), kind, from);
  try {
    edit(manifest, tensors);
    writeFileSync(to, encodeBundle(kind, tensors, manifest));
  } finally {
    dispose(Object.values(tensors));
  }
  return to;
}

const search = (file: string) => runCli(['search', '--index', file, '--threads', '1', '--k', '3', '--json', query], { killAfterMs: 30_000 });

before(async () => {
  await writeColourFolder(data, { train: 8, test: 2 }, { good: [200, 40, 40], other: [40, 40, 200] }, 7);
  ok(await runCli(['fit-detector', ...common, '--normal', 'good', '--epochs', '1', '--out', join(root, 'det')]));
  ok(await runCli(['index', '--checkpoint', join(root, 'det', 'checkpoints', 'l2softmax', 'last.ckpt'), ...common.slice(0, 4), '--threads', '1', '--kind', hnswAvailable() ? 'hnsw' : 'exact', '--out', index]));
  ok(await search(index));
});

/**
 * The index with its graph, in hnswlib's own file format, edited by `craft` and stored as an
 * earlier deepmetric stored it (tensor hnsw.graph; today's hnsw.links is the same graph without
 * the vectors, put back before the same check).
 */
function withGraph(name: string, craft: (graph: Buffer) => Buffer | undefined): string {
  const { tensors, manifest } = readBundle<{ hnsw: { m: number; efConstruction: number } }>(index, INDEX_BUNDLE);
  const links = tensors['hnsw.links'].dataSync() as Uint8Array;
  const hnsw = HnswIndex.fromBytes(links, tensors.embeddings, { m: manifest.hnsw.m, efConstruction: manifest.hnsw.efConstruction });
  const graph = hnsw.toHnswlibBytes();
  dispose(Object.values(tensors));
  const crafted = craft(graph) ?? graph;
  return rewrite(index, join(root, `${name}.dmidx`), INDEX_BUNDLE, (_m, t) => {
    dispose(t['hnsw.links']);
    delete t['hnsw.links'];
    t['hnsw.graph'] = tensor(new Uint8Array(crafted), { dtype: 'uint8' });
  });
}

/**
 * The graph with element 0 the only one above level 0, holding `upper` (its upper-level lists),
 * the header's top level set to `top` and its entry point to element 0, whose vector is zeroed so
 * that a search moves from it to any element it links to (a cosine distance of 1 is the largest
 * a vector of positive similarity beats).
 */
function withUpperLevels(g: Buffer, upper: Buffer, top: number): Buffer {
  const count = Number(g.readBigUInt64LE(16));
  const level0 = Buffer.from(g.subarray(0, 96 + count * Number(g.readBigUInt64LE(24))));
  level0.writeInt32LE(top, 48);
  level0.writeUInt32LE(0, 52);
  level0.fill(0, 96 + Number(g.readBigUInt64LE(40)), 96 + Number(g.readBigUInt64LE(32)));
  const sizes = Array.from({ length: count }, (_, i) => Buffer.from(new Uint32Array([i === 0 ? upper.length : 0]).buffer));
  return Buffer.concat([level0, sizes[0], upper, ...sizes.slice(1)]);
}

/** One upper level (M 16): a link count and 16 link slots, filled from `links`. */
function level(links: number[], count = links.length): Buffer {
  const b = Buffer.alloc(68);
  b.writeUInt32LE(count, 0);
  links.forEach((l, j) => b.writeUInt32LE(l, 4 + 4 * j));
  return b;
}

/** Elements 1…16 of graph g, or as many as it has. */
const others = (g: Buffer) => Array.from({ length: Math.min(16, Number(g.readBigUInt64LE(16)) - 1) }, (_, j) => j + 1);

// hnswlib's file: a 96-byte header (element count at 16, size per element at 24, label offset at
// 32, vector offset at 40, top level at 48, entry point at 52), then per element its level-0 link
// count (u32; byte 2 the deleted flag) and links (u32), its vector and label; then per element
// the byte size of its upper levels and those levels. Edits in place, or a new graph. The checks
// refuse each before hnswlib sees it. Run against hnswlib unchecked, search crashes on every one
// (SIGSEGV; SIGABRT for upper-link-count, an uncaught "cand error" after reading past the list)
// but truncated and count-mismatch, which hnswlib's own length check catches, and deleted, which
// finds no hits ("Cannot convert undefined to a BigInt").
const GRAPHS: Array<[string, string, (g: Buffer) => Buffer | undefined, RegExp]> = [
  [caseId('index/hnsw-bad-link'), 'a link to an element past the end', (g) => void g.writeUInt32LE(0x7fffffff, 96 + 4), /links element 0 at level 0 to element 2147483647, past its \d+ elements/],
  [caseId('index/hnsw-huge-level'), 'a top level of a million', (g) => void g.writeInt32LE(1_000_000, 48), /has top level 1000000 in its header but its highest element is at level \d/],
  [caseId('index/hnsw-huge-link-count'), 'a level-0 link count of 65535', (g) => void g.writeUInt16LE(0xffff, 96), /gives element 0 65535 links at level 0; at most 32 fit/],
  [caseId('index/hnsw-truncated'), 'the graph cut in half', (g) => g.subarray(0, g.length >> 1), /is \d+ bytes long, too short for the level-0 records of \d+ elements/],
  [caseId('index/hnsw-count-mismatch'), 'an element count 1000 larger than the graph holds', (g) => void g.writeBigUInt64LE(g.readBigUInt64LE(16) + 1000n, 16), /has cur_element_count \d+ in its header where \d+ was expected \(128 features, M 16, \d+ elements\)/],
  [caseId('index/hnsw-bad-entry-point'), 'an entry point past the end', (g) => void g.writeUInt32LE(0xfffffff0, 52), /has entry point 4294967280, past its \d+ elements/],
  [caseId('index/hnsw-link-below-level'), 'a level-1 link to an element that has only level 0 (a null list)', (g) => withUpperLevels(g, level(others(g)), 1),
    /links element 0 at level 1 to element 1, whose top level is 0/],
  [caseId('index/hnsw-ragged-levels'), 'upper levels of 132 bytes, not a whole number of 68-byte levels', (g) => withUpperLevels(g, Buffer.concat([level(others(g)), level(others(g)).subarray(0, 64)]), 2),
    /gives element 0 132 bytes of upper levels, not a multiple of the 68 bytes of one level/],
  [caseId('index/hnsw-upper-link-count'), 'a level-1 link count of 65535 in a list of 16 slots', (g) => withUpperLevels(g, level([], 0xffff), 1),
    /gives element 0 65535 links at level 1; at most 16 fit/],
  [caseId('index/hnsw-label-offset'), 'a label offset 1 TB past each element', (g) => void g.writeBigUInt64LE(g.readBigUInt64LE(32) + (1n << 40n), 32),
    /has label_offset \d+ in its header where \d+ was expected \(128 features, M 16, \d+ elements\)/],
  [caseId('index/hnsw-deleted'), 'every element marked deleted', (g) => {
    const count = Number(g.readBigUInt64LE(16));
    for (let i = 0; i < count; i++) g[96 + i * Number(g.readBigUInt64LE(24)) + 2] |= 1;
    return g;
  }, /marks element 0 deleted/],
];

for (const [id, what, craft, reason] of GRAPHS) {
  badInput(id, `a .dmidx whose HNSW graph has ${what}: refused before hnswlib reads it, naming the file and the fault, never a signal`, async (t) => {
    if (!hnswAvailable()) return t.skip('hnswlib-node is not installed');
    const name = id.replace('index/', '');
    const r = await search(withGraph(name, craft));
    refused(r, new RegExp(`${name}\\.dmidx holds an HNSW graph \\(tensor hnsw\\.graph\\) that does not fit its embeddings and field hnsw: it ${reason.source}\\. Rebuild the index with \`deepmetric index\``));
  });
}

badInput('index/huge-preprocessing', 'an index manifest asking for 30000×30000 inputs: a clear error naming the file and the field, memory bounded', async () => {
  const file = rewrite(index, join(root, 'huge-input.dmidx'), INDEX_BUNDLE, (m) => {
    m.preprocessing.width = 30000;
    m.preprocessing.height = 30000;
  });
  refused(await search(file), /huge-input\.dmidx.*preprocessing\.width of at most 4096 pixels but received 30000/);
});

badInput('index/huge-projection', 'an index manifest asking for a 2,000,000-wide projection: refused before it is allocated', async () => {
  const file = rewrite(index, join(root, 'huge-projection.dmidx'), INDEX_BUNDLE, (m) => {
    m.backbone.projectionDim = 2_000_000;
  });
  refused(await search(file), /huge-projection\.dmidx.*backbone\.projectionDim to be \d+ \(the width of the stored embeddings\) but received 2000000/);
});

badInput('index/names-mismatch', 'an index manifest with fewer names than images: refused, naming the field', async () => {
  const file = rewrite(index, join(root, 'names.dmidx'), INDEX_BUNDLE, (m) => {
    m.names = m.names.slice(0, 2);
  });
  refused(await search(file), /names\.dmidx has no list of one name per image \(field names\)/);
});

badInput('index/fifo', 'search --index on a FIFO: refused at once, not a hang', async () => {
  const fifo = join(root, 'index-fifo.dmidx');
  execFileSync('mkfifo', [fifo]);
  const r = await runCli(['search', '--index', fifo, query], { killAfterMs: 20_000 });
  refused(r, /index-fifo\.dmidx: it is a FIFO/);
});

const exportArgs = (file: string) => ['export', '--detector', file, '--out', join(root, 'model.onnx')];

// score --detector on a FIFO and on /dev/zero: input/fifo-detector and input/dev-zero-detector (io.test.ts).
badInput('detector/fifo-export', 'export --detector on a FIFO named like an image: refused at once, not a hang', async () => {
  const fifo = join(root, 'detector-fifo.jpg');
  execFileSync('mkfifo', [fifo]);
  refused(await runCli(exportArgs(fifo), { killAfterMs: 20_000 }), /detector-fifo\.jpg: it is a FIFO/);
});

badInput('detector/dev-zero-export', 'export --detector /dev/zero: refused at once, memory bounded', async () => {
  refused(await runCli(exportArgs('/dev/zero'), { killAfterMs: 20_000 }), /\/dev\/zero: it is a character device/);
});

for (const [id, command] of [[caseId('detector/huge-preprocessing-score'), 'score'], [caseId('detector/huge-preprocessing-export'), 'export']] as const) {
  badInput(id, `${command} with a detector manifest asking for 30000×30000 inputs: a clear error naming the file and the field, memory bounded`, async () => {
    const file = rewrite(detector, join(root, `huge-input-${command}.dmdet`), DETECTOR_BUNDLE, (m) => {
      m.preprocessing.width = 30000;
      m.preprocessing.height = 30000;
    });
    const r = await runCli(command === 'score' ? ['score', '--detector', file, query] : exportArgs(file), { killAfterMs: 30_000 });
    refused(r, /huge-input-\w+\.dmdet.*preprocessing\.width of at most 4096 pixels but received 30000/);
  });
}

badInput('detector/huge-head', 'a detector manifest whose head claims 3,000,000 classes: refused before the head is allocated', async () => {
  const file = rewrite(detector, join(root, 'huge-head.dmdet'), DETECTOR_BUNDLE, (m) => {
    m.method.head.numClasses = 3_000_000;
  });
  refused(await runCli(['score', '--detector', file, query], { killAfterMs: 30_000 }), /huge-head\.dmdet.*field method\.head to ask for at most the \d+ weights the file stores under 'head\.'/);
});

badInput('detector/autoencoder-widths', 'an autoencoder detector manifest with widths of a million: refused before they are allocated', async () => {
  const file = rewrite(detector, join(root, 'huge-ae.dmdet'), DETECTOR_BUNDLE, (m) => {
    m.method = { kind: 'autoencoder', autoencoder: { inChannels: 3, widths: [1_000_000, 1_000_000, 8] } };
  });
  refused(await runCli(['score', '--detector', file, query], { killAfterMs: 30_000 }), /huge-ae\.dmdet.*field method\.autoencoder\.widths to ask for at most/);
});

badInput('detector/weights-missing', 'fit-detector --weights naming a missing file fails at once instead of fitting with random weights', async () => {
  const r = await runCli(['fit-detector', ...common, '--normal', 'good', '--epochs', '0', '--normalize', 'standard', '--weights', join(root, 'nope.safetensors'), '--out', join(root, 'nope')]);
  refused(r, /cannot read weights .*nope\.safetensors: no such file/);
});

badInput('detector/weights-autoencoder', 'fit-detector --method autoencoder --weights: refused (it has no backbone), not ignored', async () => {
  const r = await runCli(['fit-detector', ...common, '--normal', 'good', '--method', 'autoencoder', '--epochs', '0', '--weights', join(root, 'nope.safetensors'), '--out', join(root, 'ae')]);
  refused(r, /Expected no --weights with --method autoencoder/);
});

badInput('detector/weights-loaded', 'fit-detector --weights FILE --epochs 0: the detector holds exactly the file\'s backbone weights', async () => {
  manualSeed(12345);
  const backbone = createBackbone({ name: 'convnet', inChannels: 3 });
  const weights = join(root, 'convnet.safetensors');
  saveSafetensors(weights, backbone.stateDict());
  backbone.dispose();
  const out = join(root, 'pretrained');
  ok(await runCli(['fit-detector', ...common, '--normal', 'good', '--epochs', '0', '--weights', weights, '--out', out]));
  const file = loadSafetensors(weights).tensors;
  const { tensors } = readBundle(join(out, 'detector.dmdet'), DETECTOR_BUNDLE);
  try {
    for (const [k, t] of Object.entries(file)) {
      assert.deepEqual(tensors[`model.backbone.${k}`]?.toNumbers(), t.toNumbers(), k);
    }
  } finally {
    dispose([...Object.values(file), ...Object.values(tensors)]);
  }
});

badInput('detector/batch-size', 'fit-detector --batch-size larger than the training set: a usage error naming the flag', async () => {
  const r = await runCli(['fit-detector', ...common, '--normal', 'good', '--epochs', '1', '--batch-size', '128', '--out', join(root, 'bs')]);
  refused(r, /Expected --batch-size of at most the 16 training images but received 128/);
});

badInput('detector/fit-options', "fitDetector({}) is a TypeError naming the field, not \"reading 'labels'\"", () => {
  assert.throws(() => fitDetector({} as never), (e: Error) => e instanceof TypeError && /fitDetector: Expected a method .* for method but received undefined/.test(e.message));
  assert.throws(() => fitDetector({ method: { kind: 'autoencoder', autoencoder: {} } } as never), /Expected a ConvAutoencoder for method\.autoencoder but received Object/);
});

badInput('detector/manifest-not-json', 'a manifest holding a BigInt or a cycle: a TypeError naming the field, not JSON.stringify\'s bare complaint', () => {
  assert.throws(() => encodeBundle(DETECTOR_BUNDLE, {}, { method: { scorer: { options: { k: 5n } } } }), /cannot save the detector's manifest as JSON: field method\.scorer\.options\.k is a BigInt/);
  const cyclic: Record<string, unknown> = { classes: ['a'] };
  cyclic.dataset = { parent: cyclic };
  assert.throws(() => encodeBundle(DETECTOR_BUNDLE, {}, cyclic), /field dataset\.parent refers back to an object that contains it/);
});

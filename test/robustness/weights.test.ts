// Hostile pretrained-weights files (issue 22): zip and view bombs in torch checkpoints, fill-value
// datasets and damaged Keras .h5 files, overlapping safetensors tensors, FIFOs and /dev/zero given
// as weights, other deepmetric files given as weights or checkpoints. Each is a clear error naming
// the file, with bounded memory (peak RSS of a child process) and without hanging.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, createDeflateRaw } from 'node:zlib';
import { badInput, runCli, runNode, tempDir, rawSafetensors } from './bad-input.js';
import { encodeSafetensors, loadSafetensors } from '../../src/serialize/safetensors.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadWeights, type WeightsFormat } from '../../src/weights/load-weights.js';
import { readTorchCheckpoint } from '../../src/weights/torch-checkpoint.js';
import { Linear } from '../../src/nn/linear.js';
import { dispose, liveTensors, tensor, Tensor } from '../../src/index.js';

const dir = tempDir('weights');
/** Peak RSS allowed to a child that loads libtorch (about 210 MB by itself) and refuses a bomb. */
const MAX_RSS_MB = 450;
const PYTHON = '/usr/bin/python3';
const hasH5py = spawnSync(PYTHON, ['-c', 'import h5py, numpy'], { stdio: 'ignore' }).status === 0;

// ---- a torch.save file written by hand: its pickle (the opcodes torch uses) and its zip ----

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const pStr = (s: string): Buffer => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]); // BINUNICODE
const pInt = (n: number): Buffer => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(n, 1); return b; }; // BININT
const pGlobal = (module: string, name: string): Buffer => Buffer.from(`c${module}\n${name}\n`, 'latin1');
const [MARK, TUPLE, BINPERSID, REDUCE, NEWFALSE, EMPTY_TUPLE] = [0x28, 0x74, 0x51, 0x52, 0x89, 0x29].map((b) => Buffer.from([b]));

/** A tensor of a state_dict as _rebuild_tensor_v2 gets it: a view of storage `key` (of `numel` elements). */
interface View { name: string; key: string; numel: number; offset: number; shape: number[]; strides: number[]; type?: string }

function statePickle(views: View[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x7d, 0x28])]; // PROTO 2, EMPTY_DICT, MARK
  for (const v of views) {
    parts.push(pStr(v.name), pGlobal('torch._utils', '_rebuild_tensor_v2'), MARK,
      MARK, pStr('storage'), pGlobal('torch', v.type ?? 'FloatStorage'), pStr(v.key), pStr('cpu'), pInt(v.numel), TUPLE, BINPERSID,
      pInt(v.offset), MARK, ...v.shape.map(pInt), TUPLE, MARK, ...v.strides.map(pInt), TUPLE,
      NEWFALSE, pGlobal('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  }
  parts.push(Buffer.from([0x75, 0x2e])); // SETITEMS, STOP
  return Buffer.concat(parts);
}

/** A zip entry: stored bytes, or an already deflated stream of `size` bytes with CRC `crc`. */
interface ZipEntry { name: string; data?: Buffer; deflated?: { bytes: Buffer; size: number; crc: number } }

function zipFile(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflated ? e.deflated.bytes : e.data!;
    const fields = Buffer.alloc(22);
    fields.writeUInt16LE(20, 0); // version needed
    fields.writeUInt16LE(e.deflated ? 8 : 0, 4); // method
    fields.writeUInt32LE(e.deflated ? e.deflated.crc : crc32(body), 10);
    fields.writeUInt32LE(body.length, 14);
    fields.writeUInt32LE(e.deflated ? e.deflated.size : body.length, 18);
    const local = Buffer.concat([u32(0x04034b50), fields, Buffer.from([name.length, 0, 0, 0]), name, body]);
    // Name length, extra and comment lengths, disk, attributes, then where the local header is.
    const record = Buffer.alloc(18);
    record.writeUInt16LE(name.length, 0);
    record.writeUInt32LE(offset, 14);
    central.push(Buffer.concat([u32(0x02014b50), Buffer.from([20, 0]), fields, record, name]));
    locals.push(local);
    offset += local.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** `size` zero bytes, deflated (about 1000× smaller) without holding them in memory. */
async function deflatedZeros(size: number): Promise<{ bytes: Buffer; size: number; crc: number }> {
  const chunk = Buffer.alloc(1 << 20);
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  let crc = 0;
  for (let done = 0; done < size; done += chunk.length) {
    crc = crc32(chunk, crc);
    if (!deflate.write(chunk)) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  return { bytes: Buffer.concat(out), size, crc };
}

/** A torch.save zip: archive/data.pkl, and archive/data/<key> for each storage given. */
function torchZip(name: string, pickle: Buffer, storages: Record<string, Buffer | ZipEntry['deflated']>): string {
  const entries: ZipEntry[] = [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/byteorder', data: Buffer.from('little') }];
  for (const [key, s] of Object.entries(storages)) entries.push(Buffer.isBuffer(s) ? { name: `archive/data/${key}`, data: s } : { name: `archive/data/${key}`, deflated: s });
  const file = join(dir, name);
  writeFileSync(file, zipFile(entries));
  return file;
}

/** A Linear(4 → 2)'s state_dict as a torch zip: weight and bias views of one storage. */
const linearViews: View[] = [
  { name: 'weight', key: '0', numel: 10, offset: 0, shape: [2, 4], strides: [4, 1] },
  { name: 'bias', key: '0', numel: 10, offset: 8, shape: [2], strides: [1] },
];

// ---- children: a fresh process per hostile file, so its peak RSS is its own ----

const url = (p: string): string => new URL(p, import.meta.url).href;
const childScript = join(dir, 'load-weights-child.mjs');
writeFileSync(childScript, `
const { loadWeights, weightsNormalization } = await import(${JSON.stringify(url('../../src/weights/load-weights.js'))});
const { Linear } = await import(${JSON.stringify(url('../../src/nn/linear.js'))});
const { MobileNetV2 } = await import(${JSON.stringify(url('../../src/models/mobilenet-v2.js'))});
const [what, file, format] = process.argv.slice(2);
try {
  if (what === 'normalization') weightsNormalization(file);
  else {
    const model = what === 'keras' ? new MobileNetV2({ alpha: 0.35, inputSize: 32 }) : new Linear({ inFeatures: 4, outFeatures: 2 });
    const r = await loadWeights(model, file, format ? { format } : {});
    console.log('loaded', r.loaded);
  }
} catch (e) {
  console.error('ERROR ' + e.message);
  process.exitCode = 1;
}
`);

/** Loads `file` into a Linear (or with `what` 'keras', a Keras MobileNetV2) in a child process. */
function loadInChild(file: string, o: { what?: 'linear' | 'keras' | 'normalization'; format?: WeightsFormat; killAfterMs?: number } = {}) {
  return runNode([childScript, o.what ?? 'linear', file, ...(o.format ? [o.format] : [])], { killAfterMs: o.killAfterMs ?? 60_000 });
}

function assertRefused(run: Awaited<ReturnType<typeof runNode>>, message: RegExp): void {
  assert.equal(run.signal, null, `the child was killed (${run.signal}): a hang or runaway memory; stderr: ${run.stderr.slice(-500)}`);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, message);
  assert.ok(run.peakRssMb < MAX_RSS_MB, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
}

// ---- torch checkpoints ----

badInput('weights/zip-bomb-storage', 'a .pth whose storage entry deflates 384 MB of zeros from 0.4 MB is refused before inflating', async () => {
  const size = 384 * 1024 ** 2;
  const file = torchZip('bomb.pth', statePickle([{ name: 'weight', key: '0', numel: size / 4, offset: 0, shape: [size / 4], strides: [1] }]), { 0: await deflatedZeros(size) });
  assertRefused(await loadInChild(file), /bomb\.pth is not a readable zip archive: entry archive\/data\/0 would inflate \d+ bytes into 402653184, more than 100 times/);
});

badInput('weights/zip-bomb-unreferenced', 'an entry no tensor refers to is never inflated: the Linear loads with bounded memory', async () => {
  const weights = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).buffer);
  const file = torchZip('extra.pth', statePickle(linearViews), { 0: weights, junk: await deflatedZeros(384 * 1024 ** 2) });
  const run = await loadInChild(file);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /loaded 2/);
  assert.ok(run.peakRssMb < MAX_RSS_MB, `peak RSS ${run.peakRssMb.toFixed(0)} MB`);
});

badInput('weights/stride-zero-view', 'a 4-byte storage viewed as 2^27 elements with stride 0 is refused before anything is copied', async () => {
  const file = torchZip('stride0.pth', statePickle([{ name: 'weight', key: '0', numel: 1, offset: 0, shape: [1 << 27], strides: [0] }]), { 0: Buffer.alloc(4) });
  assertRefused(await loadInChild(file, { killAfterMs: 30_000 }),
    /stride0\.pth: tensor 'weight' \(shape \[134217728\], strides \[0\], storage offset 0\) brings the tensors to 536870912 bytes, more than 2× the 4 bytes of their storages/);
});

badInput('weights/shared-storage-repeated', '2000 names viewing the same 1 MB storage (2 GB once copied) are refused before anything is copied', async () => {
  const numel = 1 << 18;
  const views = Array.from({ length: 2000 }, (_, i) => ({ name: `t${i}`, key: '0', numel, offset: 0, shape: [numel], strides: [1] }));
  const file = torchZip('shared.pth', statePickle(views), { 0: Buffer.alloc(numel * 4) });
  assertRefused(await loadInChild(file, { killAfterMs: 30_000 }), /shared\.pth: tensor 't\d+' .* more than 2× the 1048576 bytes of their storages or 67108864 bytes/);
});

badInput('weights/negative-view', 'negative storage offsets, strides, sizes and storage lengths are refused, naming the file and the tensor', async () => {
  const storage = { 0: Buffer.alloc(40) };
  const cases: [string, View, RegExp][] = [
    ['offset', { name: 'w', key: '0', numel: 10, offset: -1, shape: [2], strides: [1] }, /storage offset -1\) has a negative or non-integer size, stride or offset/],
    ['stride', { name: 'w', key: '0', numel: 10, offset: 5, shape: [3], strides: [-2] }, /strides \[-2\].* has a negative/],
    ['size', { name: 'w', key: '0', numel: 10, offset: 0, shape: [-5], strides: [1] }, /shape \[-5\].* has a negative/],
    ['numel', { name: 'w', key: '0', numel: -3, offset: 0, shape: [2], strides: [1] }, /storage 0 declares -3 elements, not a count/],
  ];
  for (const [what, view, message] of cases) {
    const file = torchZip(`negative-${what}.pth`, statePickle([view]), storage);
    await assert.rejects(readTorchCheckpoint(file), (e: Error) => e.message.includes(`negative-${what}.pth`) && message.test(e.message) && !/typed array/.test(e.message), what);
  }
});

badInput('weights/pickle-huge-long', 'a pickle with a 1 MB integer (LONG4) is read in linear time, then refused as no state_dict', async () => {
  const long = Buffer.concat([Buffer.from([0x80, 0x02, 0x8b]), u32(1 << 20), Buffer.alloc(1 << 20, 0x5a), Buffer.from([0x2e])]);
  const file = torchZip('long.pth', long, {});
  assertRefused(await loadInChild(file, { killAfterMs: 20_000 }), /long\.pth does not hold a state_dict \(a dict of tensors\) but bigint/);
});

// ---- safetensors ----


badInput('weights/safetensors-overlap', 'two safetensors tensors sharing bytes are refused, as the format\'s own reader does', () => {
  const file = rawSafetensors(dir, 'overlap.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12));
  assert.throws(() => loadSafetensors(file), /overlap\.safetensors is not a valid safetensors file: tensor 'b' has data_offsets \[4,12\] that overlap those of tensor 'a'/);
});

badInput('weights/safetensors-hole', 'safetensors data bytes that belong to no tensor (a hole, or bytes after the last) are refused', () => {
  const hole = rawSafetensors(dir, 'hole.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, Buffer.alloc(12));
  assert.throws(() => loadSafetensors(hole), /hole\.safetensors is not a valid safetensors file: data bytes 4 to 8 belong to no tensor/);
  const tail = rawSafetensors(dir, 'tail.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(12));
  assert.throws(() => loadSafetensors(tail), /tail\.safetensors is not a valid safetensors file: its last 8 data bytes belong to no tensor/);
});

badInput('weights/proto-name', "a tensor named '__proto__' is kept as a name by the reader and refused by loadWeights, not '#handle'", async () => {
  const base = liveTensors();
  const file = rawSafetensors(dir, 'proto.safetensors', { ['__proto__']: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4));
  const { tensors } = loadSafetensors(file);
  assert.deepEqual(Object.keys(tensors), ['__proto__']);
  assert.ok(Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value instanceof Tensor);
  dispose(tensors);
  const model = new Linear({ inFeatures: 4, outFeatures: 2 });
  const pth = torchZip('proto.pth', statePickle([...linearViews, { name: '__proto__', key: '0', numel: 10, offset: 0, shape: [1], strides: [1] }]), { 0: Buffer.alloc(40) });
  try {
    for (const f of [file, pth]) {
      await assert.rejects(loadWeights(model, f, { strict: false }), (e: Error) => e.message.includes(f) && /holds a tensor named '__proto__'/.test(e.message) && !/#handle/.test(e.message));
    }
  } finally {
    model.dispose();
  }
  assert.equal(liveTensors(), base, 'no tensor leaked');
});

// ---- wrong kinds of file ----

badInput('weights/unknown-format', "loadWeights({ format: 'onnx' }) is refused, listing the formats", async () => {
  const model = new Linear({ inFeatures: 4, outFeatures: 2 });
  try {
    await assert.rejects(loadWeights(model, join(dir, 'any.onnx'), { format: 'onnx' as WeightsFormat }),
      (e: Error) => e instanceof TypeError && /Expected format 'torch', 'safetensors', 'keras-h5' .* but received "onnx"/.test(e.message));
  } finally {
    model.dispose();
  }
});

badInput('weights/detector-file', 'a .dmdet detector given as weights or as a checkpoint says what it is, not a safetensors header length', async () => {
  const w = tensor([1, 2, 3, 4]);
  const payload = encodeSafetensors({ w }, { manifest: '{}' });
  w.dispose();
  const prefix = Buffer.alloc(56);
  prefix.write('DMDETEC1', 'ascii');
  prefix.writeUInt32LE(1, 8);
  prefix.writeBigUInt64LE(BigInt(payload.length), 16);
  const file = join(dir, 'detector.dmdet');
  writeFileSync(file, Buffer.concat([prefix, payload]));
  const model = new Linear({ inFeatures: 4, outFeatures: 2 });
  try {
    const message = /detector\.dmdet is a deepmetric detector file, not a (weights file|PyTorch checkpoint); use --detector/;
    for (const format of [undefined, 'torch', 'safetensors'] as const) {
      await assert.rejects(loadWeights(model, file, { format }), (e: Error) => message.test(e.message) && !/header length/.test(e.message), String(format));
    }
  } finally {
    model.dispose();
  }
  assert.throws(() => loadCheckpoint(file), /detector\.dmdet is a deepmetric detector file, not a checkpoint; use --detector/);
});

// ---- FIFOs and devices ----

badInput('weights/fifo', '--weights naming a FIFO is an error at once (embed, and loadWeights with each format), not a wait for a writer', async () => {
  const fifo = join(dir, 'weights.pth');
  execFileSync('mkfifo', [fifo]);
  const cli = await runCli(['embed', '--backbone', 'torchvision-resnet18', '--weights', fifo, '--out', join(dir, 'emb.safetensors')], { killAfterMs: 30_000 });
  assert.equal(cli.signal, null, 'embed hung on the FIFO');
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /cannot read weights file .*weights\.pth: it is a FIFO \(named pipe\), not a regular file/);
  for (const o of [{}, { what: 'normalization' as const }, { format: 'torch' as const }, { format: 'safetensors' as const }, { what: 'keras' as const, format: 'keras-h5' as const }]) {
    assertRefused(await loadInChild(fifo, { ...o, killAfterMs: 20_000 }), /weights\.pth: it is a FIFO \(named pipe\), not a regular file/);
  }
});

badInput('weights/dev-zero', '/dev/zero as weights is refused at once with bounded memory, whatever the format', async () => {
  for (const o of [{}, { what: 'normalization' as const }, { format: 'torch' as const }, { format: 'safetensors' as const }, { what: 'keras' as const, format: 'keras-h5' as const }]) {
    assertRefused(await loadInChild('/dev/zero', { ...o, killAfterMs: 20_000 }), /\/dev\/zero: it is a character device, not a regular file/);
  }
});

// ---- Keras .h5 ----

/** Runs h5py code with `out` (the folder) defined; returns nothing. */
function h5py(code: string): void {
  const r = spawnSync(PYTHON, ['-c', `import h5py, numpy as np, sys\nout = sys.argv[1]\n${code}`, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const KERAS_LAYER = `
def layer(f, name, shape=(3, 3, 3, 16), **ds):
    f.attrs['layer_names'] = [name.encode()]
    g = f.create_group(name)
    g.attrs['weight_names'] = [(name + '/kernel:0').encode()]
    if ds: g.create_dataset(name + '/kernel:0', shape=shape, dtype='f4', **ds)
    else: g.create_dataset(name + '/kernel:0', data=np.ones(shape, 'f4'))
`;

badInput('weights/keras-fill-value', 'a Keras .h5 declaring a 512 MB dataset of fill values in 8 KB is refused before h5wasm reads it', async (t) => {
  if (!hasH5py) return t.skip('python3-h5py is absent, so the .h5 file cannot be made');
  h5py(`${KERAS_LAYER}\nwith h5py.File(out + '/fill.h5', 'w') as f: layer(f, 'Conv1', shape=(1024, 1024, 128), fillvalue=1.0)`);
  assertRefused(await loadInChild(join(dir, 'fill.h5'), { what: 'keras' }),
    /keras h5: .*fill\.h5 declares the dataset Conv1\/Conv1\/kernel:0 of shape \[1024,1024,128\] \(536870912 bytes\), more than the \d+-byte file holds/);
});

badInput('weights/keras-damaged', 'a damaged Keras .h5 is one clear error naming the file, without HDF5 diagnostics on stderr', async (t) => {
  if (!hasH5py) return t.skip('python3-h5py is absent, so the .h5 files cannot be made');
  h5py(`${KERAS_LAYER}
with h5py.File(out + '/good.h5', 'w') as f: layer(f, 'Conv1')
b = bytearray(open(out + '/good.h5', 'rb').read())
for i in range(4000, 9000, 3): b[i] ^= 0x33
open(out + '/damaged.h5', 'wb').write(bytes(b))
open(out + '/truncated.h5', 'wb').write(bytes(b[:4000]))
with h5py.File(out + '/dangling.h5', 'w') as f:
    f.attrs['layer_names'] = [b'Conv1']
    f['Conv1'] = h5py.SoftLink('/nowhere')`);
  const cases: [string, RegExp][] = [
    ['damaged.h5', /keras h5: .*damaged\.h5 cannot be read \(damaged file\?\): /],
    ['truncated.h5', /keras h5: .*truncated\.h5 cannot be opened as HDF5 \(damaged or not an HDF5 file\): .*truncated file/],
    ['dangling.h5', /keras h5: .*dangling\.h5 lists layer 'Conv1' in layer_names but has no group for it/],
  ];
  for (const [name, message] of cases) {
    const run = await loadInChild(join(dir, name), { what: 'keras' });
    assertRefused(run, message);
    assert.doesNotMatch(run.stderr, /HDF5-DIAG|name not defined|reading 'weight_names'/, name);
  }
});

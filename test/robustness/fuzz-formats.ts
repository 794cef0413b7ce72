// The formats of the fuzz pass (fuzz.test.ts): for each, its seed files (made by the real writers
// in ~2 s), how its mutants are made from them (generic byte mutations, plus
// structural ones and reseals that get past the format's checksum), and the reader a child
// process feeds them to (fuzz-child.ts). A reader returns normally when deepmetric accepted the
// file, throws when it refused it; anything else (a signal, a hang, a stray exception, runaway
// memory) is a bug the fuzz test reports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { BUNDLE_PREFIX, Rng, mutantSeed, gunzipSync, gzipSync, mutateBytes, mutateImageSize, mutateSafetensorsHeader, mutateTensorData, resealBundle, resealCheckpoint, resealPng, resealTar } from './mutate.js';

export interface Mutant {
  bytes: Buffer;
  /** What was done, for the reproducer. */
  ops: string[];
  /** Which seed file it came from. */
  seed: string;
}

export interface FuzzFormat {
  name: string;
  /** The mutant's file extension (readers look at it: .safetensors, .h5…). */
  ext: string;
  /** Seed files, in the seed folder. */
  seeds: string[];
  /** Mutants per run in CI (scaled by DEEPMETRIC_FUZZ_SCALE). */
  count: number;
  /** What reads it, for messages. */
  reader: string;
  mutate(seed: Buffer, rng: Rng, donors: Buffer[]): { bytes: Buffer; ops: string[] };
  /** Child side: reads the mutant at `file`; returns a note on an accepted file, throws when it is refused. */
  read(file: string): Promise<string>;
}

type Structural = (b: Buffer, rng: Rng) => { bytes: Buffer; what: string } | null;

/**
 * Raw mutations (stopped by the checksum) 20 % of the time, else mutations behind a reseal:
 * bytes anywhere 30 %, the header JSON 30 %, one tensor's data (a blob another parser reads) 20 %.
 */
function sealed(reseal: (b: Buffer) => Buffer, from: number, header: Structural, blob: Structural) {
  return (seed: Buffer, rng: Rng, donors: Buffer[]): { bytes: Buffer; ops: string[] } => {
    const roll = rng.int(10);
    if (roll < 2) return mutateBytes(seed, rng, { donors });
    if (roll >= 5) {
      const s = (roll >= 8 ? blob : header)(seed, rng);
      if (s) {
        const more = rng.chance(0.25) ? mutateBytes(s.bytes, rng, { donors, from }) : { bytes: s.bytes, ops: [] };
        return { bytes: reseal(more.bytes), ops: [s.what, ...more.ops, 'resealed'] };
      }
    }
    const m = mutateBytes(seed, rng, { donors, from });
    return { bytes: reseal(m.bytes), ops: [...m.ops, 'resealed'] };
  };
}

/** A structural mutation of a bundle's safetensors payload (behind the 56-byte prefix). */
const inBundle = (structural: Structural): Structural => (b, rng) => {
  const s = structural(b.subarray(BUNDLE_PREFIX), rng);
  return s && { bytes: Buffer.concat([b.subarray(0, BUNDLE_PREFIX), s.bytes]), what: s.what };
};

/** Bytes of a zero image at a file's preprocessing size, unless that is absurd (then null, and the acceptance is noted). */
function zeroImages(p: { width: number; height: number; channels: number }): { images: Uint8Array; size: 1; width: number; height: number; channels: number } | null {
  const bytes = p.width * p.height * p.channels;
  return bytes > 64 * 1024 * 1024 ? null : { images: new Uint8Array(bytes), size: 1, width: p.width, height: p.height, channels: p.channels };
}

const IMAGE_OPTIONS = [{}, { resize: { width: 32, height: 32 } }, { resize: { width: 16, height: 16, fit: 'contain' as const } }, { channels: 1 as const }, { maxImagePixels: 1_000_000 }];
async function readImage(file: string): Promise<string> {
  const { decodeImage } = await import('../../src/data/image-decode.js');
  // Mutant i is decoded with options i mod 5 (so that a replay of its file decodes it the same way): the fast
  // path (any size, or at the model's size) and sharp (resizing, grey, a lower pixel limit).
  const options = IMAGE_OPTIONS[Number(/-i(\d+)\.\w+$/.exec(file)?.[1] ?? 0) % IMAGE_OPTIONS.length];
  const r = await decodeImage(readFileSync(file), file, options);
  if (r.pixels.length !== r.width * r.height * r.channels) throw new Error(`BUG: decodeImage returned ${r.pixels.length} bytes for ${r.width}×${r.height}×${r.channels}`);
  return `${r.width}×${r.height}×${r.channels}`;
}

export const FORMATS: FuzzFormat[] = [
  {
    name: 'checkpoint', ext: '.ckpt', seeds: ['seed.ckpt'], count: 2000, reader: 'loadCheckpoint + restore',
    mutate: sealed(resealCheckpoint, 0, mutateSafetensorsHeader, (b, rng) => mutateTensorData(b, rng, ['__optimizer__', '__rng__'])),
    async read(file) {
      const { loadCheckpoint } = await import('../../src/train/checkpoint.js');
      const { Linear } = await import('../../src/nn/linear.js');
      const { Adam } = await import('../../src/optim/optimizer.js');
      const loaded = loadCheckpoint(file);
      const head = new Linear({ inFeatures: 8, outFeatures: 4 });
      const optimizer = new Adam(head.parameters());
      try {
        loaded.restore({ modules: { head }, optimizer });
      } finally {
        optimizer.dispose();
        head.dispose();
      }
      return `epoch ${loaded.epoch}`;
    },
  },
  {
    name: 'detector', ext: '.dmdet', seeds: ['knn.dmdet', 'autoencoder.dmdet'], count: 800, reader: 'AnomalyDetector.load + score',
    mutate: sealed(resealBundle, BUNDLE_PREFIX, inBundle(mutateSafetensorsHeader), inBundle((b, rng) => mutateTensorData(b, rng))),
    async read(file) {
      const { AnomalyDetector } = await import('../../src/anomaly/anomaly-detector.js');
      const d = AnomalyDetector.load(file);
      try {
        const images = zeroImages(d.preprocessing);
        if (!images) return `accepted with preprocessing ${JSON.stringify(d.preprocessing)} (not scored)`;
        const [r] = d.score(images);
        return `score ${r.score}`;
      } finally {
        d.dispose();
      }
    },
  },
  {
    name: 'index', ext: '.dmidx', seeds: ['hnsw.dmidx', 'exact.dmidx'], count: 800, reader: 'ImageIndex.load + search',
    mutate: sealed(resealBundle, BUNDLE_PREFIX, inBundle(mutateSafetensorsHeader), inBundle((b, rng) => mutateTensorData(b, rng, ['hnsw.links', 'embeddings']))),
    async read(file) {
      const { ImageIndex } = await import('../../src/search/image-index.js');
      const index = ImageIndex.load(file);
      try {
        const images = zeroImages(index.preprocessing);
        if (!images) return `accepted with preprocessing ${JSON.stringify(index.preprocessing)} (not searched)`;
        const [hits] = index.search(images, 1);
        return `hit ${hits[0]?.index}`;
      } finally {
        index.dispose();
      }
    },
  },
  {
    name: 'safetensors', ext: '.safetensors', seeds: ['seed.safetensors'], count: 2000, reader: 'loadSafetensors',
    mutate(seed, rng, donors) {
      if (rng.chance(0.4)) {
        const s = mutateSafetensorsHeader(seed, rng);
        if (s) return { bytes: s.bytes, ops: [s.what] };
      }
      return mutateBytes(seed, rng, { donors });
    },
    async read(file) {
      const { loadSafetensors } = await import('../../src/serialize/safetensors.js');
      const { dispose } = await import('../../src/tensor/memory.js');
      const { tensors } = loadSafetensors(file);
      dispose(tensors);
      return `${Object.keys(tensors).length} tensors`;
    },
  },
  {
    name: 'torch-zip', ext: '.pth', seeds: ['weights.pth'], count: 2000, reader: 'readTorchCheckpoint + toTensor',
    mutate: (seed, rng, donors) => mutateBytes(seed, rng, { donors }),
    read: readTorch,
  },
  {
    name: 'torch-legacy', ext: '.pth', seeds: ['weights-legacy.pth'], count: 2000, reader: 'readTorchCheckpoint + toTensor',
    mutate: (seed, rng, donors) => mutateBytes(seed, rng, { donors }),
    read: readTorch,
  },
  {
    name: 'keras-h5', ext: '.h5', seeds: ['keras.h5'], count: 1000, reader: 'readKerasH5 + toTensor',
    mutate: (seed, rng, donors) => mutateBytes(seed, rng, { donors }),
    async read(file) {
      const { readKerasH5 } = await import('../../src/weights/keras-h5.js');
      const { toTensor } = await import('../../src/weights/raw-tensor.js');
      const layers = await readKerasH5(file);
      let n = 0;
      for (const weights of layers.values()) {
        for (const raw of weights.values()) {
          toTensor(raw).dispose();
          n++;
        }
      }
      return `${n} weights`;
    },
  },
  {
    name: 'onnx', ext: '.onnx', seeds: ['convnet.onnx'], count: 800, reader: 'decodeOnnxModel + onnxruntime-node',
    mutate: (seed, rng, donors) => mutateBytes(seed, rng, { donors }),
    async read(file) {
      const { decodeOnnxModel } = await import('../../src/export/onnx-proto.js');
      const bytes = readFileSync(file);
      const ours = decodeOnnxModel(bytes);
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(bytes);
      try {
        const outputs = await session.run({ images: new ort.Tensor('uint8', new Uint8Array(32 * 32 * 3), [1, 32, 32, 3]) });
        return `${Object.keys(ours).length} fields; outputs ${Object.keys(outputs).join(',')}`;
      } finally {
        await session.release();
      }
    },
  },
  {
    name: 'zip-archive', ext: '.zip', seeds: ['images.zip'], count: 2000, reader: 'readArchiveFile',
    mutate: (seed, rng, donors) => mutateBytes(seed, rng, { donors }),
    read: readArchive,
  },
  {
    name: 'tar-archive', ext: '.tar', seeds: ['images.tar'], count: 2000, reader: 'readArchiveFile',
    mutate(seed, rng, donors) {
      const m = mutateBytes(seed, rng, { donors });
      return rng.chance(0.6) ? { bytes: resealTar(m.bytes), ops: [...m.ops, 'resealed'] } : m;
    },
    read: readArchive,
  },
  {
    name: 'tar-gz-archive', ext: '.tar.gz', seeds: ['images.tar.gz'], count: 2000, reader: 'readArchiveFile',
    mutate(seed, rng, donors) {
      if (rng.chance(0.4)) return mutateBytes(seed, rng, { donors });
      // The tar inside, mutated and recompressed: the gzip wrapper is valid, the tar is not.
      const m = mutateBytes(gunzipSync(seed), rng, { donors });
      const tar = rng.chance(0.6) ? resealTar(m.bytes) : m.bytes;
      return { bytes: gzipSync(tar), ops: ['inside the gzip:', ...m.ops] };
    },
    read: readArchive,
  },
  {
    name: 'jpeg', ext: '.jpg', seeds: ['baseline.jpg', 'progressive.jpg'], count: 3000, reader: 'decodeImage (libjpeg-turbo fast path, sharp)',
    mutate: withImageSize((seed, rng, donors) => mutateBytes(seed, rng, { donors, bigEndian: true })),
    read: readImage,
  },
  {
    name: 'png', ext: '.png', seeds: ['rgb.png', 'palette.png'], count: 2000, reader: 'decodeImage (sharp)',
    mutate(seed, rng, donors) {
      const m = withImageSize((b, r) => mutateBytes(b, r, { donors, bigEndian: true }))(seed, rng, donors);
      return rng.chance(0.7) ? { bytes: resealPng(m.bytes), ops: [...m.ops, 'CRCs resealed'] } : m;
    },
    read: readImage,
  },
];

/** A quarter of the image mutants state another size in their header (sometimes with byte mutations too). */
function withImageSize(mutate: FuzzFormat['mutate']): FuzzFormat['mutate'] {
  return (seed, rng, donors) => {
    const sized = rng.chance(0.25) ? mutateImageSize(seed, rng) : null;
    if (!sized) return mutate(seed, rng, donors);
    return rng.chance(0.3) ? (({ bytes, ops }) => ({ bytes, ops: [sized.what, ...ops] }))(mutate(sized.bytes, rng, donors)) : { bytes: sized.bytes, ops: [sized.what] };
  };
}

async function readTorch(file: string): Promise<string> {
  const { readTorchCheckpoint } = await import('../../src/weights/torch-checkpoint.js');
  const { toTensor } = await import('../../src/weights/raw-tensor.js');
  const raw = await readTorchCheckpoint(file);
  for (const r of raw.values()) toTensor(r).dispose();
  return `${raw.size} tensors`;
}

async function readArchive(file: string): Promise<string> {
  const { readArchiveFile } = await import('../../src/data/sources/archive-reader.js');
  let entries = 0;
  let bytes = 0;
  for await (const e of readArchiveFile(file, { maxEntryBytes: 1 << 20 })) {
    entries++;
    bytes += e.data.length;
  }
  return `${entries} entries, ${bytes} bytes`;
}

export interface SeedSet {
  seeds: Array<{ name: string; bytes: Buffer }>;
  /** Splice donors: the other formats' first seeds. */
  donors: Buffer[];
}

export function loadSeeds(format: FuzzFormat, seedDir: string): SeedSet {
  return {
    seeds: format.seeds.map((s) => ({ name: s, bytes: readFileSync(join(seedDir, s)) })),
    donors: FORMATS.filter((f) => f !== format && existsSync(join(seedDir, f.seeds[0]))).map((f) => readFileSync(join(seedDir, f.seeds[0]))),
  };
}

/** Mutant `iteration` of a format under a base seed: the same seeds give the same bytes, in the parent and in the child. */
export function makeMutant(format: FuzzFormat, set: SeedSet, baseSeed: number, iteration: number): Mutant {
  const rng = new Rng(mutantSeed(format.name, baseSeed, iteration));
  const seed = set.seeds[rng.int(set.seeds.length)];
  const { bytes, ops } = format.mutate(seed.bytes, rng, set.donors);
  return { bytes, ops, seed: seed.name };
}

/** The name a mutant's file has (readers name it in their errors). */
export const mutantFileName = (format: FuzzFormat, baseSeed: number, iteration: number): string => `${format.name}-s${baseSeed}-i${iteration}${format.ext}`;

export function formatByName(name: string): FuzzFormat {
  const f = FORMATS.find((x) => x.name === name);
  if (!f) throw new Error(`no fuzz format '${name}' (known: ${FORMATS.map((x) => x.name).join(', ')})`);
  return f;
}

// ---- seed files ------------------------------------------------------------------------------

const PYTHON_SEEDS = String.raw`
import collections, io, sys, tarfile, zipfile
out = sys.argv[1]
images = [(name, open(out + '/' + src, 'rb').read()) for name, src in
          [('train/red/0.png', 'rgb.png'), ('train/red/1.jpg', 'baseline.jpg'), ('test/blue/0.png', 'palette.png'),
           ('test/blue/' + 'a-very-long-folder-name/' * 5 + 'p.jpg', 'progressive.jpg')]]
with zipfile.ZipFile(out + '/images.zip', 'w') as z:
    z.writestr(zipfile.ZipInfo('train/', date_time=(2000, 1, 1, 0, 0, 0)), b'')
    for i, (name, data) in enumerate(images):
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if i % 2 == 0 else zipfile.ZIP_STORED
        z.writestr(info, data)
for fmt, name in [(tarfile.PAX_FORMAT, 'images.tar'), (tarfile.GNU_FORMAT, 'images-gnu.tar')]:
    with tarfile.open(out + '/' + name, 'w', format=fmt) as t:
        d = tarfile.TarInfo('train')
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        for name_, data in images + [('train/red/caf\u00e9.png', images[0][1])]:
            info = tarfile.TarInfo(name_)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
try:
    import numpy as np, torch, h5py
except ImportError:
    sys.exit(0)  # no torch / Keras seeds: those formats are skipped
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
sd['weight'] = torch.randn(3, 4)
sd['bias'] = torch.randn(3)
sd['strided'] = base[:, ::2]
sd['offset'] = base[1:, 2:]
sd['half'] = torch.randn(2, 3).half()
sd['bf16'] = torch.randn(3).bfloat16()
sd['long'] = torch.arange(5)
sd['int'] = torch.arange(4, dtype=torch.int32)
sd['short'] = torch.tensor([-2, 7], dtype=torch.int16)
sd['char'] = torch.tensor([-1, 2], dtype=torch.int8)
sd['byte'] = torch.tensor([1, 255], dtype=torch.uint8)
sd['bool'] = torch.tensor([True, False])
sd['double'] = torch.randn(2, dtype=torch.float64)
torch.save(sd, out + '/weights.pth')
torch.save(sd, out + '/weights-legacy.pth', _use_new_zipfile_serialization=False)
rng = np.random.default_rng(0)
with h5py.File(out + '/keras.h5', 'w') as f:
    f.attrs['layer_names'] = np.array([b'Conv1', b'bn_Conv1', b'predictions'])
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.13.1'
    layers = {'Conv1': {'kernel:0': rng.random((3, 3, 3, 4), dtype=np.float32)},
              'bn_Conv1': {w + ':0': rng.random(4, dtype=np.float32) for w in ['gamma', 'beta', 'moving_mean', 'moving_variance']},
              'predictions': {'kernel:0': rng.random((4, 10)), 'bias:0': rng.random(10)}}
    for layer, weights in layers.items():
        g = f.create_group(layer)
        g.attrs['weight_names'] = np.array([(layer + '/' + w).encode() for w in weights])
        for w, v in weights.items():
            g.create_dataset(layer + '/' + w, data=v)
`;

/** Writes every seed file into dir (the Python step needs python3-torch and python3-h5py). */
export async function makeSeeds(dir: string): Promise<void> {
  // Images first: the archives hold them.
  let s = 7;
  const noise = (w: number, h: number, c: number) => {
    const px = Buffer.alloc(w * h * c);
    for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1664525 + 1013904223) >>> 0) >>> 24;
    return px;
  };
  await sharp(noise(32, 32, 3), { raw: { width: 32, height: 32, channels: 3 } }).jpeg({ quality: 80 }).toFile(join(dir, 'baseline.jpg'));
  await sharp(noise(40, 24, 3), { raw: { width: 40, height: 24, channels: 3 } }).jpeg({ quality: 60, progressive: true }).toFile(join(dir, 'progressive.jpg'));
  await sharp(noise(32, 32, 3), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(dir, 'rgb.png'));
  await sharp(noise(20, 12, 4), { raw: { width: 20, height: 12, channels: 4 } }).png({ palette: true, colours: 16 }).toFile(join(dir, 'palette.png'));
  const py = spawnSync('/usr/bin/python3', ['-c', PYTHON_SEEDS, dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (py.status !== 0) throw new Error(`making the torch / h5 / archive seeds failed: ${py.stderr}`);
  writeFileSync(join(dir, 'images.tar.gz'), gzipSync(readFileSync(join(dir, 'images-gnu.tar'))));

  const { manualSeed, dispose, tensor } = await import('../../src/index.js');
  const { Linear } = await import('../../src/nn/linear.js');
  const { Adam } = await import('../../src/optim/optimizer.js');
  const { saveCheckpoint } = await import('../../src/train/checkpoint.js');
  const { encodeSafetensors } = await import('../../src/serialize/safetensors.js');
  const { decodeBundle, encodeBundle } = await import('../../src/serialize/checked-bundle.js');
  const { createEmbeddingNet } = await import('../../src/models/registry.js');
  const { ImageIndex, INDEX_BUNDLE } = await import('../../src/search/image-index.js');
  const { DETECTOR_BUNDLE } = await import('../../src/anomaly/anomaly-detector.js');
  const { exportOnnx } = await import('../../src/export/export-onnx.js');
  const { hnswAvailable } = await import('../../src/eval/hnsw-index.js');
  const { tinyDetector, colourSet, RED } = await import('../serve/tiny-detector.js');
  const { perturbLikeTrained } = await import('../export/onnx-helpers.js');

  // A checkpoint with an Adam state (a libtorch archive inside the file) after one step.
  manualSeed(1);
  const head = new Linear({ inFeatures: 8, outFeatures: 4 });
  const optimizer = new Adam(head.parameters());
  const x = tensor(Array.from({ length: 16 }, (_, i) => i / 16), { shape: [2, 8] });
  const loss = head.forward(x).square().mean();
  loss.backward();
  optimizer.step();
  saveCheckpoint(join(dir, 'seed.ckpt'), { modules: { head }, optimizer, epoch: 3, history: [{ epoch: 1, loss: 0.5 }], config: { lr: 0.001 }, extra: { classes: ['a', 'b'] } });
  dispose([x, loss]);
  optimizer.dispose();

  // Plain safetensors (as timm / Hugging Face write them): every dtype, a scalar, an empty tensor.
  const st = {
    'a.weight': tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }), 'a.bias': tensor([0.5, -0.5]), 'i64': tensor([1, 2, 3], { dtype: 'int64' }),
    'u8': tensor([0, 255, 7], { dtype: 'uint8' }), 'f16': tensor([1, 2], { dtype: 'float16' }), 'f64': tensor(2.5, { dtype: 'float64' }),
    'b': tensor([1, 0, 1], { dtype: 'bool' }), 'i32': tensor([-4], { dtype: 'int32' }), 'empty': tensor([], { shape: [0, 3] }),
  };
  writeFileSync(join(dir, 'seed.safetensors'), encodeSafetensors(st, { format: 'pt', note: 'fuzz seed' }));
  dispose(Object.values(st));
  head.dispose();

  // Bundles are stamped with the time they were made: a fixed one keeps the seeds the same run to run.
  const restamp = (bytes: Buffer, kind: typeof INDEX_BUNDLE): Buffer => {
    const { tensors, manifest } = decodeBundle<Record<string, unknown>>(bytes, kind, 'seed');
    const out = encodeBundle(kind, tensors, { ...manifest, created: '2000-01-01T00:00:00.000Z' });
    dispose(Object.values(tensors));
    return out;
  };
  for (const kind of ['knn', 'autoencoder'] as const) {
    const d = tinyDetector(kind);
    writeFileSync(join(dir, `${kind}.dmdet`), restamp(d.encode(), DETECTOR_BUNDLE));
    d.dispose();
  }

  manualSeed(2);
  const spec = { name: 'convnet' } as const;
  const model = createEmbeddingNet(spec);
  perturbLikeTrained(model, { channels: 3, height: 32, width: 32 });
  const data = colourSet(12, RED, 4, 'indexed');
  for (const kind of hnswAvailable() ? (['hnsw', 'exact'] as const) : (['exact'] as const)) {
    const index = ImageIndex.build({ model, backbone: spec, data, normalization: { kind: 'unit' }, kind, source: 'fuzz seed' });
    const file = join(dir, `${kind}.dmidx`);
    await index.save(file);
    index.dispose();
    writeFileSync(file, restamp(readFileSync(file), INDEX_BUNDLE));
  }
  if (!hnswAvailable()) writeFileSync(join(dir, 'hnsw.dmidx'), readFileSync(join(dir, 'exact.dmidx')));
  await exportOnnx(model, join(dir, 'convnet.onnx'), { height: 32, width: 32 });
  model.dispose();
}

// Pretrained weights: torchvision's mobilenet_v2 / resnet18 / resnet50 and a Keras MobileNetV2 .h5,
// made locally by scripts/make_pretrained_fixtures.py (Debian's python3-torch, torchvision, h5py)
// with random weights and perturbed BatchNorm statistics, load into our architectures and reproduce
// the reference forward passes; the readers rebuild strided views and every dtype; damaged files
// are clear errors naming the file and the key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, liveTensors, noGrad, tidy, type Tensor } from '../../src/index.js';
import { globalAvgPool2d } from '../../src/nn/functional.js';
import { loadSafetensors } from '../../src/serialize/safetensors.js';
import { MobileNetV2 } from '../../src/models/mobilenet-v2.js';
import { TorchvisionMobileNetV2 } from '../../src/models/torchvision-mobilenet-v2.js';
import { TorchvisionResNet } from '../../src/models/torchvision-resnet.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { loadWeights } from '../../src/weights/load-weights.js';
import { readTorchCheckpoint } from '../../src/weights/torch-checkpoint.js';
import { toTensor } from '../../src/weights/raw-tensor.js';
import { IMAGENET_NORMALIZATION, KERAS_TF_NORMALIZATION } from '../../src/weights/normalization.js';
import { repoRoot } from '../helpers.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, h5py, numpy'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : 'python3-torch, python3-torchvision or python3-h5py is absent, so the reference weight files cannot be made (apt install python3-torch python3-torchvision python3-h5py)';
let dir = '';

before(() => {
  if (!hasTorch) return;
  dir = mkdtempSync(join(tmpdir(), 'dm-pretrained-'));
  const r = spawnSync(PYTHON, [join(repoRoot, 'scripts', 'make_pretrained_fixtures.py'), dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, `make_pretrained_fixtures.py failed: ${r.stderr}`);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** max |a − e| ≤ 1e-4 · max |e|: the forward passes agree within 1e-4 relative. */
function assertRelClose(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toNumbers();
  const e = expected.toNumbers();
  const scale = Math.max(...e.map(Math.abs));
  const worst = Math.max(...a.map((v, i) => Math.abs(v - e[i])));
  assert.ok(scale > 0 && worst <= 1e-4 * scale, `${what}: max difference ${worst} exceeds 1e-4 × ${scale}`);
}

function reference(name: string): Record<string, Tensor> {
  return loadSafetensors(join(dir, `${name}.reference.safetensors`)).tensors;
}

const ARCHS: [string, () => TorchvisionMobileNetV2 | TorchvisionResNet][] = [
  ['mobilenet_v2', () => new TorchvisionMobileNetV2({ classes: 1000 })],
  ['resnet18', () => new TorchvisionResNet({ depth: 18, classes: 1000 })],
  ['resnet50', () => new TorchvisionResNet({ depth: 50, classes: 1000 })],
];

for (const [arch, build] of ARCHS) {
  test(`torchvision ${arch}: torch.save'd state_dict and its .safetensors reproduce torchvision's logits and pooled features (eval mode, channels-last)`, { skip }, async () => {
    const base = liveTensors();
    const ref = reference(arch);
    const fromPth = build();
    const fromSt = build();
    try {
      const r = await loadWeights(fromPth, join(dir, `${arch}.pth`));
      assert.equal(r.format, 'torch');
      assert.deepEqual(r.normalization, IMAGENET_NORMALIZATION);
      assert.ok(r.skipped.length > 0 && r.skipped.every((k) => k.endsWith('.num_batches_tracked')), 'only the BatchNorm counters are left out');
      assert.equal(r.loaded, Object.keys(fromPth.stateDict()).length);
      assert.equal((await loadWeights(fromSt, join(dir, `${arch}.safetensors`))).format, 'safetensors');
      noGrad(() => tidy(() => {
        const x = ref.input.contiguous('channels_last');
        const outputs = [fromPth, fromSt].map((m) => {
          m.eval().toChannelsLast();
          return { logits: m.forward(x), pooled: globalAvgPool2d(m.forwardFeatures(x)) };
        });
        assertRelClose(outputs[0].logits, ref.logits, `${arch} logits`);
        assertRelClose(outputs[0].pooled, ref.pooled, `${arch} pooled features`);
        assert.deepEqual(outputs[1].logits.toNumbers(), outputs[0].logits.toNumbers(), 'the .safetensors gives identical logits');
        assert.deepEqual(outputs[1].pooled.toNumbers(), outputs[0].pooled.toNumbers(), 'the .safetensors gives identical pooled features');
      }));
    } finally {
      fromPth.dispose();
      fromSt.dispose();
      dispose(ref);
    }
    assert.equal(liveTensors(), base, 'no tensor leaked');
  });
}

test('an embedding network over a torchvision backbone without top loads the ImageNet file (fc left out) and embeds as torchvision pools', { skip }, async () => {
  const base = liveTensors();
  const ref = reference('resnet18');
  const net = createEmbeddingNet({ name: 'torchvision-resnet18' });
  try {
    const r = await loadWeights(net, join(dir, 'resnet18.pth'));
    assert.ok(r.skipped.includes('fc.weight') && r.skipped.includes('fc.bias'));
    net.eval().toChannelsLast();
    noGrad(() => tidy(() => assertRelClose(net.forward(ref.input.contiguous('channels_last')), ref.pooled, 'embedding')));
    await assert.rejects(loadWeights(net, join(dir, 'resnet18.pth'), { skipTop: false }), /unexpected keys: fc\.weight, fc\.bias/);
  } finally {
    net.dispose();
    dispose(ref);
  }
  assert.equal(liveTensors(), base);
});

test('the legacy (non-zip) torch.save format, strided / offset views of every dtype, and a nested DataParallel checkpoint are rebuilt as torch saved them', { skip }, async () => {
  const base = liveTensors();
  const expected = JSON.parse(readFileSync(join(dir, 'views.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
  for (const file of ['views.pth', 'views-legacy.pth', 'nested.pth']) {
    const raw = await readTorchCheckpoint(join(dir, file));
    assert.deepEqual([...raw.keys()].sort(), Object.keys(expected).sort(), file);
    for (const [name, e] of Object.entries(expected)) {
      const r = raw.get(name)!;
      assert.deepEqual(r.shape, e.shape, `${file} ${name} shape`);
      const values = tidy(() => toTensor(r).to('float32').toNumbers());
      assert.deepEqual(values, e.values, `${file} ${name} values`);
    }
    assert.equal(raw.get('half')!.dtype, 'float16');
    assert.equal(raw.get('long')!.dtype, 'int64');
  }
  const legacy = new TorchvisionResNet({ depth: 18, classes: 1000 });
  const ref = reference('resnet18');
  try {
    assert.equal((await loadWeights(legacy, join(dir, 'resnet18-legacy.pth'))).format, 'torch');
    legacy.eval();
    noGrad(() => tidy(() => assertRelClose(legacy.forward(ref.input), ref.logits, 'legacy resnet18 logits')));
  } finally {
    legacy.dispose();
    dispose(ref);
  }
  assert.equal(liveTensors(), base);
});

test('Keras-layout .h5 (Keras layer names, HWIO kernels) loads into the Keras-faithful MobileNetV2 and reproduces the reference forward', { skip }, async () => {
  const base = liveTensors();
  const ref = reference('keras_mobilenet_v2_0.35_64');
  const model = new MobileNetV2({ alpha: 0.35, inputSize: 64, classes: 1000 });
  const backbone = new MobileNetV2({ alpha: 0.35, inputSize: 64 });
  try {
    const r = await loadWeights(model, join(dir, 'keras_mobilenet_v2_0.35_64.h5'));
    assert.equal(r.format, 'keras-h5');
    assert.deepEqual(r.normalization, KERAS_TF_NORMALIZATION);
    assert.equal(r.loaded, Object.keys(model.stateDict()).length);
    const rb = await loadWeights(backbone, join(dir, 'keras_mobilenet_v2_0.35_64.h5'));
    assert.deepEqual(rb.skipped.sort(), ['Logits/bias', 'Logits/kernel'], 'a backbone without top leaves the Dense top out');
    model.eval().toChannelsLast();
    backbone.eval().toChannelsLast();
    noGrad(() => tidy(() => {
      const x = ref.input.contiguous('channels_last');
      assertRelClose(model.forward(x), ref.logits, 'keras logits');
      assertRelClose(globalAvgPool2d(backbone.forward(x)), ref.pooled, 'keras pooled features');
    }));
  } finally {
    model.dispose();
    backbone.dispose();
    dispose(ref);
  }
  assert.equal(liveTensors(), base);
});

test('torchvision-style names are checked against the SHA-256 of the content', { skip }, async () => {
  const named = readFileSync(join(dir, 'resnet18.pth'));
  const { createHash } = await import('node:crypto');
  const prefix = createHash('sha256').update(named).digest('hex').slice(0, 8);
  const good = join(dir, `resnet18-${prefix}.pth`);
  const m = new TorchvisionResNet({ depth: 18, classes: 1000 });
  try {
    assert.equal((await loadWeights(m, good)).hashPrefix, prefix);
    const wrong = join(dir, 'resnet18-deadbeef.pth');
    copyFileSync(good, wrong);
    await assert.rejects(loadWeights(m, wrong), (e: Error) => /resnet18-deadbeef\.pth/.test(e.message) && /SHA-256 deadbeef/.test(e.message));
    assert.equal((await loadWeights(m, wrong, { verifyHash: false })).hashPrefix, null);
  } finally {
    m.dispose();
  }
});

test('damaged or wrong files are clear errors naming the file and the key; nothing leaks', { skip }, async () => {
  const base = liveTensors();
  const whole = readFileSync(join(dir, 'resnet18.pth'));
  const truncated = join(dir, 'truncated.pth');
  writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
  const legacyWhole = readFileSync(join(dir, 'resnet18-legacy.pth'));
  const legacyTruncated = join(dir, 'truncated-legacy.pth');
  writeFileSync(legacyTruncated, legacyWhole.subarray(0, legacyWhole.length >> 1));
  const garbage = join(dir, 'garbage.pth');
  writeFileSync(garbage, Buffer.from('not weights at all'));
  const resnet18 = new TorchvisionResNet({ depth: 18, classes: 1000 });
  const resnet50 = new TorchvisionResNet({ depth: 50, classes: 1000 });
  const mobilenet = new TorchvisionMobileNetV2({ classes: 1000 });
  const keras = new MobileNetV2({ alpha: 0.35, inputSize: 64, classes: 1000 });
  try {
    await assert.rejects(loadWeights(resnet18, truncated), /zip: .*truncated\.pth is not a readable zip archive/);
    await assert.rejects(loadWeights(resnet18, legacyTruncated), /truncated-legacy\.pth .*(ends|truncated)/);
    await assert.rejects(loadWeights(resnet18, join(dir, 'unsupported-opcode.pth')), /unsupported-opcode\.pth.*unsupported pickle opcode EMPTY_SET/);
    await assert.rejects(loadWeights(resnet18, garbage), /garbage\.pth is not a recognised weights file/);
    await assert.rejects(loadWeights(mobilenet, join(dir, 'resnet18.pth')), (e: Error) =>
      /resnet18\.pth \(torch\) does not fit TorchvisionMobileNetV2/.test(e.message) && /missing keys: features\.0\.0\.weight/.test(e.message) && /unexpected keys: conv1\.weight/.test(e.message));
    await assert.rejects(loadWeights(resnet50, join(dir, 'resnet18.safetensors')), (e: Error) =>
      /resnet18\.safetensors/.test(e.message) && /layer1\.0\.conv1\.weight \(expected \[64,64,1,1\], received \[64,64,3,3\]\)/.test(e.message));
    await assert.rejects(loadWeights(keras, join(dir, 'keras_missing_layer.h5')), (e: Error) =>
      /keras_missing_layer\.h5/.test(e.message) && /block_5_project\/kernel \(for features\.6\.conv\.2\.0\.weight\)/.test(e.message));
    await assert.rejects(loadWeights(resnet18, join(dir, 'keras_mobilenet_v2_0.35_64.h5')), /Keras \.h5 file, which loads into the Keras-faithful MobileNetV2/);
    await assert.rejects(loadWeights(resnet18, join(dir, 'no-such-file.pth')), /cannot read .*no-such-file\.pth/);
  } finally {
    for (const m of [resnet18, resnet50, mobilenet, keras]) m.dispose();
  }
  assert.equal(liveTensors(), base, 'no tensor leaked on errors');
});

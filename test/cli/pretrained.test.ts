// The training commands with --weights: anomaly with --epochs 0 scores the pretrained features as
// they are (no training, posterior scores skipped), --freeze-backbone trains only the head and keeps
// the backbone (and its BatchNorm statistics) exactly as loaded, --backbone-lr-mult 0 leaves its
// weights untouched, embed --weights embeds with the file's normalisation. The weights file is a
// real .safetensors of a torchvision-layout ResNet-18 with a 1000-class top (left out on load).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anomalyCommand, type AnomalyResults } from '../../src/cli/anomaly.js';
import { compareCommand } from '../../src/cli/compare.js';
import { embedCommand } from '../../src/cli/embed.js';
import { loadSafetensors, saveSafetensors } from '../../src/serialize/safetensors.js';
import { TorchvisionResNet } from '../../src/models/torchvision-resnet.js';
import { IMAGENET_NORMALIZATION } from '../../src/weights/normalization.js';
import { dispose, liveTensors, manualSeed, noGrad, rand, tidy, type Tensor } from '../../src/index.js';
import { FOUR_COLOURS, writeColourFolder } from './synthetic-folder.js';
import { quietly } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'dm-pretrained-cli-'));
const dataDir = join(root, 'data');
const cacheDir = join(root, 'cache');
const weights = join(root, 'resnet18.safetensors');
const common = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--backbone', 'torchvision-resnet18', '--weights', weights, '--batch-size', '12', '--lr', '0.003'];

before(async () => {
  await writeColourFolder(dataDir, { train: 24, test: 8 }, FOUR_COLOURS, 3);
  manualSeed(5);
  const m = new TorchvisionResNet({ depth: 18, classes: 1000 });
  // BatchNorm statistics away from their initial values, as in trained weights.
  noGrad(() => {
    for (const [k, t] of Object.entries(m.stateDict())) {
      if (k.endsWith('running_mean')) tidy(() => t.copy_(rand(t.shape).sub(0.5).mul(0.2)));
      if (k.endsWith('running_var')) tidy(() => t.copy_(rand(t.shape).add(0.5)));
    }
  });
  saveSafetensors(weights, m.stateDict());
  m.dispose();
});

after(() => rmSync(root, { recursive: true, force: true }));

/** The backbone tensors of a checkpoint's model, keyed as in the weights file. */
function backboneOf(ckpt: string): Record<string, Tensor> {
  const { tensors } = loadSafetensors(ckpt);
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.backbone.')) out[k.slice('model.backbone.'.length)] = t;
    else t.dispose();
  }
  return out;
}

function sameValues(a: Tensor, b: Tensor): boolean {
  return tidy(() => a.sub(b).abs().max().item()) === 0;
}

test('anomaly --weights --epochs 0: no training, the file\'s backbone scored as it is with ImageNet normalisation; msp skipped', async () => {
  const base = liveTensors();
  const out = join(root, 'anomaly0');
  const r: AnomalyResults = await quietly(() => anomalyCommand([...common, '--epochs', '0', '--normal', 'red', '--anomaly', 'blue', '--heads', 'softmax',
    '--score', 'knn,msp', '--score-options', '{"knn":{"k":3}}', '--out', out]));
  assert.deepEqual(r.results.map((x) => `${x.head}/${x.score}`), ['softmax/knn'], 'msp needs a trained head');
  assert.equal(r.heads[0].history.length, 0);
  assert.deepEqual((r.config as { normalization: unknown }).normalization, IMAGENET_NORMALIZATION);
  assert.ok(r.results[0].auroc > 0.5, `auroc ${r.results[0].auroc}`);
  const ckpt = join(out, 'checkpoints', 'softmax', 'last.ckpt');
  const meta = loadSafetensors(ckpt);
  dispose(meta.tensors);
  assert.equal(meta.metadata.epoch, '0');
  assert.deepEqual(JSON.parse(meta.metadata.config).normalization, IMAGENET_NORMALIZATION, 'normalisation recorded with the model');
  const file = loadSafetensors(weights).tensors;
  const saved = backboneOf(ckpt);
  try {
    for (const [k, t] of Object.entries(saved)) assert.ok(sameValues(t, file[k]), `${k} is the file's`);
    assert.equal(Object.keys(saved).length, Object.keys(file).length - 2, 'everything but fc.weight and fc.bias');
  } finally {
    dispose([file, saved]);
  }

  // The checkpoint carries the normalisation: embed --checkpoint equals embed --weights on the same images.
  const viaCkpt = join(root, 'via-ckpt.safetensors');
  const viaWeights = join(root, 'via-weights.safetensors');
  const split = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--split', 'test'];
  await quietly(() => embedCommand([...split, '--checkpoint', ckpt, '--out', viaCkpt]));
  await quietly(() => embedCommand([...split, '--backbone', 'torchvision-resnet18', '--weights', weights, '--out', viaWeights]));
  const a = loadSafetensors(viaCkpt).tensors;
  const b = loadSafetensors(viaWeights).tensors;
  try {
    const diff = tidy(() => a.embeddings.sub(b.embeddings).abs().max().item());
    const scale = tidy(() => b.embeddings.abs().max().item());
    assert.ok(scale > 0 && diff <= 1e-5 * scale, `embeddings differ by ${diff} (scale ${scale})`);
  } finally {
    dispose([a, b]);
  }
  assert.equal(liveTensors(), base);
});

test('compare --freeze-backbone trains the head only: backbone weights and BatchNorm statistics stay as loaded; --backbone-lr-mult 0 keeps the weights', async () => {
  const file = loadSafetensors(weights).tensors;
  try {
    for (const [flag, bnKept] of [[['--freeze-backbone'], true], [['--backbone-lr-mult', '0'], false]] as const) {
      const out = join(root, `compare-${flag[0].slice(2)}`);
      const r = await quietly(() => compareCommand([...common, '--epochs', '1', '--heads', 'softmax', '--max-val', '12', ...flag, '--out', out]));
      assert.equal(r.heads[0].history.length, 1);
      assert.equal((r.config as { freezeBackbone: boolean }).freezeBackbone, flag[0] === '--freeze-backbone');
      const saved = backboneOf(join(out, 'checkpoints', 'softmax', 'last.ckpt'));
      try {
        for (const [k, t] of Object.entries(saved)) {
          const isStat = /running_(mean|var)$/.test(k);
          if (isStat && !bnKept) continue; // with lr 0 the backbone still trains its BatchNorm statistics
          assert.ok(sameValues(t, file[k]), `${flag[0]}: ${k} unchanged`);
        }
        if (!bnKept) assert.ok(!sameValues(saved['bn1.running_mean'], file['bn1.running_mean']), 'BatchNorm statistics did update in train mode');
      } finally {
        dispose(saved);
      }
    }
  } finally {
    dispose(file);
  }
});

test('embed --backbone --weights writes embeddings of the pretrained backbone', async () => {
  const out = join(root, 'emb.safetensors');
  await quietly(() => embedCommand(['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--backbone', 'torchvision-resnet18', '--weights', weights, '--split', 'test', '--out', out]));
  const { tensors, metadata } = loadSafetensors(out);
  try {
    assert.deepEqual(tensors.embeddings.shape, [32, 512]);
    assert.equal(metadata.backbone, 'torchvision-resnet18');
    assert.match(metadata.weights, /resnet18\.safetensors$/);
  } finally {
    dispose(tensors);
  }
  await assert.rejects(quietly(() => embedCommand(['--out', out])), /Expected --checkpoint PATH or --weights FILE/);
});


// End to end: `deepmetric compare` on a tiny generated dataset writes every output, results.json
// follows its schema, the PNG decodes, and an interrupted run resumes exactly where it stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Ajv } from 'ajv';
import { compareCommand, type CompareResults } from '../../src/cli/compare.js';
import { train, type TrainConfig } from '../../src/train/trainer.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { liveTensors, manualSeed } from '../../src/index.js';
import { repoRoot } from '../helpers.js';
import { writeSyntheticFolder } from './synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-e2e-'));
const dataDir = join(root, 'data');
const cacheDir = join(root, 'cache');
const quiet = { write: () => true, isTTY: false };

test('compare writes results.json (valid), val_acc.svg/png, report.html and checkpoints', async () => {
  await writeSyntheticFolder(dataDir, { train: 24, test: 8 });
  const out = join(root, 'cmp');
  const base = liveTensors();
  const realWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let results;
  try {
    results = await compareCommand(['--data', dataDir, '--cache-dir', cacheDir, '--backbone', 'convnet', '--epochs', '2', '--batch-size', '12', '--lr', '0.003', '--out', out]);
  } finally {
    process.stderr.write = realWrite;
  }
  assert.equal(liveTensors(), base, 'no tensor leaked');
  for (const f of ['results.json', 'val_acc.svg', 'val_acc.png', 'report.html', 'checkpoints/softmax/best.ckpt', 'checkpoints/softmax/last.ckpt', 'checkpoints/l2softmax/last.ckpt']) {
    assert.ok(existsSync(join(out, f)), `${f} exists`);
  }
  const json: CompareResults = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'compare-results.schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(json.heads.map((h: { name: string }) => h.name), ['softmax', 'l2softmax']);
  assert.equal(json.heads[0].history.length, 2);
  assert.deepEqual(json.dataset.classes, ['blue', 'green', 'red']);
  assert.equal(json.dataset.train_size, 72);
  assert.ok(json.heads.every((h: { best_val_acc: number }) => h.best_val_acc > 0.5), 'the colour task is learned');
  assert.deepEqual(results!.heads.map((h) => h.best_val_acc), json.heads.map((h: { best_val_acc: number }) => h.best_val_acc));
  const meta = await sharp(readFileSync(join(out, 'val_acc.png'))).metadata();
  assert.equal(meta.format, 'png');
  assert.ok((meta.width ?? 0) >= 320 && (meta.height ?? 0) >= 240);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /l2softmax/);
});

test('a run stopped mid-epoch resumes from its checkpoint and ends exactly as an uninterrupted run', async () => {
  const { train: trainSet, test: valSet } = await loadCifar10({ source: dataDir, cacheDir, split: 'both' });
  const config: TrainConfig = {
    epochs: 2, batchSize: 12, optimizer: { name: 'adam', lr: 3e-3, amsgrad: true }, seed: 5,
    augment: { cropPadding: 4, flipProbability: 0.5 }, normalization: { kind: 'unit' },
  };
  const run = async (dir: string, opts: { maxSteps?: number; resume?: boolean }) => {
    manualSeed(5);
    const model = createEmbeddingNet({ name: 'convnet' });
    const head = createHead('l2softmax', { embeddingDim: model.embeddingDim, numClasses: 3 });
    try {
      return await train({ model, head, train: trainSet, val: valSet, config, dir, log: () => {}, progressStream: quiet, ...opts });
    } finally {
      model.dispose();
      head.dispose();
    }
  };
  const straight = await run(join(root, 'straight'), {});
  const dir = join(root, 'resumed');
  const stopped = await run(dir, { maxSteps: 8 }); // 6 steps per epoch: stops in epoch 2
  assert.equal(stopped.interrupted, true);
  assert.equal(stopped.history.length, 1);
  const resumed = await run(dir, { resume: true });
  assert.equal(resumed.history.length, 2);
  for (let e = 0; e < 2; e++) {
    for (const k of ['train_loss', 'train_acc', 'val_loss', 'val_acc'] as const) {
      assert.ok(Math.abs((resumed.history[e][k] ?? 0) - (straight.history[e][k] ?? 0)) < 1e-5, `epoch ${e + 1} ${k}: ${resumed.history[e][k]} vs ${straight.history[e][k]}`);
    }
  }
});

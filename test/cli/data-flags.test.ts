// End to end: the data flags shared by every command. A single <class>/ tree of grayscale images of
// two sizes trains with --image-size, --channels 1 and --normalize standard; the checkpoint records
// the input so that eval and embed, given only --data, decode and split the images the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { compareCommand } from '../../src/cli/compare.js';
import { evalCommand } from '../../src/cli/eval.js';
import { embedCommand } from '../../src/cli/embed.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import type { TrainConfig } from '../../src/train/trainer.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { channelStatistics } from '../../src/data/normalization.js';
import { loadSafetensors } from '../../src/serialize/safetensors.js';
import { dispose, liveTensors } from '../../src/index.js';
import { quietly } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'dm-data-flags-'));
const dataDir = join(root, 'shapes');
const cacheDir = join(root, 'cache');

async function writeGreyTree(): Promise<void> {
  const levels: Record<string, number> = { dark: 40, mid: 128, light: 220 };
  for (const [name, level] of Object.entries(levels)) {
    mkdirSync(join(dataDir, name), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const size = i % 2 ? { width: 20, height: 20 } : { width: 24, height: 16 };
      const px = Buffer.alloc(size.width * size.height, (level + i * 3) % 256);
      const image = sharp(px, { raw: { ...size, channels: 1 } });
      await (i % 3 ? image.png() : image.jpeg()).toFile(join(dataDir, name, `${i}.${i % 3 ? 'png' : 'jpg'}`));
    }
  }
}

test('mixed sizes without --image-size are refused, naming two files and the flag', async () => {
  await writeGreyTree();
  await assert.rejects(quietly(() => compareCommand(['--data', dataDir, '--cache-dir', cacheDir, '--backbone', 'convnet', '--epochs', '1', '--out', join(root, 'refused')])),
    /shapes\/\w+\/\d\.(png|jpg): image is \d+x\d+ but .*shapes\/\w+\/\d\.(png|jpg) is \d+x\d+; .*--image-size N or WxH/);
});

test('--image-size, --channels 1, --normalize standard and --val-fraction train, are recorded, and eval/embed reuse them', async () => {
  const out = join(root, 'run');
  const base = liveTensors();
  const flags = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1'];
  await quietly(() => compareCommand([...flags, '--image-size', '16', '--channels', '1', '--normalize', 'standard', '--val-fraction', '0.3', '--seed', '4',
    '--backbone', 'convnet', '--heads', 'softmax', '--epochs', '1', '--batch-size', '7', '--lr', '0.003', '--out', out]));
  const ckpt = join(out, 'checkpoints', 'softmax', 'last.ckpt');
  assert.ok(existsSync(ckpt));
  const loaded = loadCheckpoint<unknown, TrainConfig>(ckpt);
  const config = loaded.config;
  const spec = (loaded.extra as { model: { inChannels: number } }).model;
  loaded.dispose();
  assert.deepEqual(config.input, { height: 16, width: 16, channels: 1, resize: { width: 16, height: 16, fit: 'cover' }, validation: { fraction: 0.3, seed: 4 } });
  assert.equal(spec.inChannels, 1);
  // The stored statistics are those of the training split (an independent load of the same data).
  const data = await loadDataset({ source: dataDir, cacheDir, imageSize: 16, channels: 1, valFraction: 0.3, seed: 4 });
  const stats = channelStatistics(data.train);
  assert.equal(config.normalization.kind, 'standard');
  assert.deepEqual(config.normalization.mean, stats.mean);
  assert.deepEqual(config.normalization.std, stats.std);

  // No image flags: the checkpoint's input (size, channels, validation split) is used.
  const report = await quietly(() => evalCommand([...flags, '--checkpoint', ckpt]));
  assert.equal(report.images, 9, '30% of 30 images');
  const file = join(root, 'val.safetensors');
  await quietly(() => embedCommand([...flags, '--checkpoint', ckpt, '--split', 'train', '--out', file]));
  const { tensors } = loadSafetensors(file);
  assert.equal(tensors.embeddings.shape[0], 21);
  dispose(tensors);
  assert.equal(liveTensors(), base);
});

test('--stream trains from the cache file exactly as from memory', async () => {
  const flags = ['--data', dataDir, '--cache-dir', cacheDir, '--threads', '1', '--image-size', '12x8', '--backbone', 'convnet', '--heads', 'softmax',
    '--epochs', '2', '--batch-size', '6', '--lr', '0.003', '--augment'];
  const memory = await quietly(() => compareCommand([...flags, '--out', join(root, 'memory')]));
  const streamed = await quietly(() => compareCommand([...flags, '--stream', '--out', join(root, 'streamed')]));
  const strip = (h: typeof memory.heads[number]['history']) => h.map(({ train_loss, train_acc, val_loss, val_acc }) => ({ train_loss, train_acc, val_loss, val_acc }));
  assert.deepEqual(strip(streamed.heads[0].history), strip(memory.heads[0].history));
});

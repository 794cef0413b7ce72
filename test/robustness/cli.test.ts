// Careless command lines and output folders: each is a clear message naming the flag or the file,
// given before any work — and two runs never write the same output folder at once.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, tempDir } from './bad-input.js';
import { injectEnospc, tinyFilesystem } from './full-disk.js';
import { writeSyntheticFolder } from '../cli/synthetic-folder.js';
import { compareCommand, compareSpec } from '../../src/cli/compare.js';
import { embedCommand } from '../../src/cli/embed.js';
import { parseOptions, UsageError } from '../../src/cli/args.js';
import { train } from '../../src/train/trainer.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { loadCifar10 } from '../../src/data/sources/cifar10.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { manualSeed, profile, randn, tidy } from '../../src/index.js';
import { quietly } from '../helpers.js';

const root = tempDir('cli');
const data = join(root, 'data');
const cache = join(root, 'cache');
const ready = writeSyntheticFolder(data, { train: 12, test: 4 }, 12);
// Generated in the background; a filtered run may end first (then the folder is gone): not an unhandled error.
ready.catch(() => {});
const common = ['--data', data, '--cache-dir', cache, '--backbone', 'convnet', '--epochs', '1', '--batch-size', '8'];

const usage = (pattern: RegExp) => (e: Error) => e instanceof UsageError && pattern.test(e.message);

badInput('cli/head-options-null', "--head-options null (and other non-objects) is a usage error, not 'Cannot read properties of null'", async () => {
  for (const raw of ['null', '[1,2]', '"arcface"', '{"arcface":3}']) {
    await assert.rejects(quietly(() => compareCommand([...common, '--head-options', raw, '--out', join(root, 'ho')])),
      usage(/Expected a JSON object of options per head for --head-options|Expected an object of options for 'arcface' in --head-options/), raw);
  }
});

badInput('cli/warmup-epochs-negative', '--warmup-epochs -5 is refused', () => {
  assert.throws(() => parseOptions(compareSpec, ['--warmup-epochs=-5']), usage(/Expected a number ≥ 0 for --warmup-epochs but received '-5'/));
  assert.throws(() => parseOptions(compareSpec, ['--warmup-epochs', '-5']), usage(/--warmup-epochs/));
});

badInput('cli/duplicate-heads', '--heads softmax,softmax would overwrite its own checkpoints: refused', async () => {
  await assert.rejects(quietly(() => compareCommand([...common, '--heads', 'softmax,softmax', '--out', join(root, 'dup')])),
    usage(/Expected each head once in --heads but received 'softmax' twice/));
  assert.ok(!existsSync(join(root, 'dup')), 'refused before creating anything');
});

badInput('cli/out-is-a-file', '--out naming an existing file is a clear error, not a raw EEXIST from mkdir', async () => {
  const file = join(root, 'passwd');
  writeFileSync(file, 'root:x:0:0\n');
  await assert.rejects(quietly(() => compareCommand([...common, '--out', file])), /Expected --out to be a folder but .*passwd is an existing file/);
  await assert.rejects(quietly(() => compareCommand([...common, '--out', join(file, 'sub')])), /Cannot create --out .*passwd\/sub: a file is in the way/);
  assert.equal(readFileSync(file, 'utf8'), 'root:x:0:0\n');
});

badInput('cli/embed-out-missing-folder', 'embed --out into a folder that does not exist yet creates it', async () => {
  await ready;
  const { train: trainSet, test } = await loadCifar10({ source: data, cacheDir: cache });
  manualSeed(0);
  const model = createEmbeddingNet({ name: 'convnet' });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 3 });
  const dir = join(root, 'embed-ckpt');
  try {
    await train({ model, head, train: trainSet, val: test, dir, config: { epochs: 1, batchSize: 8, optimizer: { name: 'adam', lr: 1e-3 }, seed: 0, normalization: { kind: 'unit' } },
      log: () => {}, progressStream: { write: () => true }, modelSpec: { name: 'convnet' } });
  } finally {
    model.dispose();
    head.dispose();
  }
  const out = join(root, 'new', 'folder', 'emb.safetensors');
  await quietly(() => embedCommand(['--checkpoint', join(dir, 'last.ckpt'), '--data', data, '--cache-dir', cache, '--out', out]));
  assert.ok(existsSync(out));
});

badInput('io/enospc-names-the-file', 'a write that fails with ENOSPC names the file being written, not its temporary sibling', async (t) => {
  const tiny = tinyFilesystem(join(root, 'tiny'), 16);
  const folder = tiny?.path ?? root;
  const restore = tiny ? () => {} : injectEnospc('results.json');
  t.diagnostic(tiny ? 'ENOSPC from a 16 KiB tmpfs' : 'ENOSPC injected');
  try {
    const target = join(folder, 'results.json');
    await assert.rejects(writeFileAtomic(target, 'x'.repeat(64 * 1024)),
      (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.message === `cannot write ${target}: no space left on the device (ENOSPC)` && !/\.tmp-/.test(e.message));
    assert.ok(!existsSync(target));
  } finally {
    restore();
    tiny?.dispose();
  }
});

badInput('runtime/profile-missing-folder', 'profile() into a folder that does not exist writes the trace there instead of dropping it', () => {
  const trace = join(root, 'traces', 'deep', 'step.json');
  profile(trace, () => tidy(() => randn([8, 8]).matmul(randn([8, 8])).sum().item()));
  assert.ok(existsSync(trace), 'the trace was written');
  assert.match(readFileSync(trace, 'utf8'), /^\[/, 'a Chrome trace (JSON array of events)');
});

// `deepmetric export`: a checkpoint written the trainer's way becomes an .onnx file whose outputs
// match the checkpoint's model in ONNX Runtime, with the training normalisation and class names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, tidy, createHead } from '../../src/index.js';
import { createEmbeddingNet, type BackboneSpec } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { loadTrainedModel } from '../../src/train/trained-model.js';
import { decodeOnnxModel } from '../../src/export/onnx-proto.js';
import type { InputNormalization } from '../../src/inference/index.js';
import { assertOrtClose, ourInput, perturbLikeTrained, pixels, pythonCheckModel, pythonOnnxAvailable, runOrt } from './onnx-helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dm-export-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const NORM: InputNormalization = { kind: 'standard', mean: [0.5, 0.45, 0.4], std: [0.25, 0.24, 0.26] };
const CLASSES = ['cat', 'dog', 'ship', 'truck'];

/** A checkpoint as the trainer writes it: model + head state, config, and how to rebuild them. */
function writeCheckpoint(path: string, spec: BackboneSpec, headName: string): void {
  manualSeed(21);
  const model = createEmbeddingNet(spec);
  const head = createHead(headName, { embeddingDim: model.embeddingDim, numClasses: CLASSES.length });
  perturbLikeTrained(model, { channels: 3, height: 32, width: 32 });
  saveCheckpoint(path, {
    modules: { model, head }, epoch: 3, history: [],
    config: { epochs: 3, batchSize: 8, optimizer: { name: 'adam', lr: 1e-3 }, seed: 21, normalization: NORM },
    extra: { model: spec, head: head.config(), classes: CLASSES },
  });
  model.dispose();
  head.dispose();
}

test('deepmetric export --checkpoint C --format onnx --out F: outputs match the checkpoint in ONNX Runtime', async () => {
  const ckpt = join(dir, 'mobilenet.ckpt');
  writeCheckpoint(ckpt, { name: 'mobilenetv2', alpha: 0.35 }, 'l2softmax');
  const out = join(dir, 'model.onnx');
  const r = await run(['export', '--checkpoint', ckpt, '--format', 'onnx', '--output', 'both', '--normalize', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /input\s+images\s+uint8\s+\[batch, 32, 32, 3\]/);
  assert.match(r.stdout, /output\s+embedding\s+float32\s+\[batch, 1280\]/);
  assert.match(r.stdout, /output\s+logits\s+float32\s+\[batch, 4\]/);
  assert.match(r.stdout, /Wrote .*model\.onnx \(\d+\.\d MiB, opset 17, \d+ nodes\)/);

  const meta = Object.fromEntries((decodeOnnxModel(readFileSync(out)).metadata_props as { key: string; value: string }[]).map((p) => [p.key, p.value]));
  assert.deepEqual(JSON.parse(meta['deepmetric.classes']), CLASSES);
  assert.deepEqual(JSON.parse(meta['deepmetric.normalization']), NORM);
  assert.equal(meta['deepmetric.head'], 'l2softmax');
  assert.equal(meta['deepmetric.embedding_normalized'], 'true');

  const trained = loadTrainedModel(ckpt);
  try {
    for (const size of [1, 5]) {
      const b = { images: pixels(size, 32, 32, 3, 40 + size), size, height: 32, width: 32, channels: 3 };
      const got = await runOrt(out, b);
      noGrad(() => tidy(() => {
        const emb = trained.model.forward(ourInput(b, NORM));
        assertOrtClose(got.embedding, emb.div(emb.norm(2, 1, true)), `cli embedding, batch ${size}`);
        assertOrtClose(got.logits, trained.head.logits(emb), `cli logits, batch ${size}`);
      }));
    }
  } finally {
    trained.dispose();
  }
  if (pythonOnnxAvailable()) pythonCheckModel(out);
});

test('deepmetric export: --help, usage errors, a misfit input size; logits only with float32 input', async () => {
  const help = await run(['export', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--output VALUE.*one of embedding, logits, both/);
  const none = await run(['export', '--out', join(dir, 'x.onnx')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Expected either --checkpoint PATH or --detector PATH but received neither/);
  const missing = await run(['export', '--checkpoint', join(dir, 'nope.ckpt')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.ckpt does not exist/);
  const size = await run(['export', '--checkpoint', join(dir, 'mobilenet.ckpt'), '--input-size', '64', '--out', join(dir, 'y.onnx')]);
  assert.equal(size.code, 1);
  assert.match(size.stderr, /built for 32×32 inputs/);
  const ckpt = join(dir, 'convnet.ckpt');
  writeCheckpoint(ckpt, { name: 'convnet' }, 'normface');
  const logits = await run(['export', '--checkpoint', ckpt, '--output', 'logits', '--input-dtype', 'float32', '--input-size', '16', '--out', join(dir, 'convnet.onnx')]);
  assert.equal(logits.code, 0, logits.stderr);
  assert.match(logits.stdout, /input\s+images\s+float32\s+\[batch, 16, 16, 3\]/);
  assert.match(logits.stdout, /output\s+logits\s+float32\s+\[batch, 4\]/);
  assert.doesNotMatch(logits.stdout, /output\s+embedding/);
});

// `deepmetric export --detector`: a saved detector's network, with its preprocessing and the
// L2-normalised embedding, run in ONNX Runtime, matches the detector's own features
// (detector.embed, the fused network the detector scores with); threshold and classes in the
// metadata; the autoencoder's flattened code too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveTensors, tensor } from '../../src/index.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { decodeOnnxModel } from '../../src/export/onnx-proto.js';
import { buildDetectorOnnx } from '../../src/export/export-detector.js';
import { assertOrtClose, pixels, pythonCheckModel, pythonOnnxAvailable, runOrt } from './onnx-helpers.js';
import { tinyDetector } from '../serve/tiny-detector.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dm-export-detector-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const metadataOf = (path: string): Record<string, string> =>
  Object.fromEntries((decodeOnnxModel(readFileSync(path)).metadata_props as { key: string; value: string }[]).map((p) => [p.key, p.value]));

for (const kind of ['knn', 'autoencoder'] as const) {
  test(`export --detector (${kind}): ONNX Runtime's L2-normalised embedding equals the detector's own (≤ 1e-4 relative); threshold and classes in the metadata`, async () => {
    const base = liveTensors();
    const fitted = tinyDetector(kind);
    const path = join(dir, `${kind}.dmdet`);
    await fitted.save(path);
    fitted.dispose();
    const out = join(dir, `${kind}.onnx`);
    const r = await run(['export', '--detector', path, '--format', 'onnx', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /embedding/);

    const detector = AnomalyDetector.load(path); // fused, as the detector scores
    try {
      const batch = { images: pixels(6, 32, 32, 3, 3), size: 6, height: 32, width: 32, channels: 3 };
      const ours = detector.embed(batch, { normalize: true });
      const raw = detector.embed(batch);
      const dim = ours[0].length;
      // normalize really is the L2-normalised raw feature (plain recomputation).
      raw.forEach((f, i) => {
        const n = Math.hypot(...f);
        f.forEach((v, j) => assert.ok(Math.abs(v / n - ours[i][j]) <= 1e-6, `normalised feature ${i},${j}`));
      });
      const { embedding } = await runOrt(out, batch);
      const expected = tensor(Float32Array.from(ours.flatMap((f) => Array.from(f))), { shape: [6, dim] });
      try {
        assertOrtClose(embedding, expected, `${kind} detector embedding`);
      } finally {
        expected.dispose();
      }
      const meta = metadataOf(out);
      assert.equal(Number(meta['deepmetric.threshold']), detector.threshold);
      assert.deepEqual(JSON.parse(meta['deepmetric.classes']), detector.manifest.classes);
      assert.deepEqual(JSON.parse(meta['deepmetric.normal_classes']), ['red']);
      assert.equal(meta['deepmetric.embedding_normalized'], 'true');
      assert.deepEqual(JSON.parse(meta['deepmetric.preprocessing']), detector.preprocessing);
      assert.equal(meta['deepmetric.detector'], `${kind}.dmdet`);
      if (pythonOnnxAvailable()) pythonCheckModel(out);
      if (kind === 'autoencoder') {
        assert.throws(() => buildDetectorOnnx(detector, { output: 'logits' }), /Expected output 'embedding' for an autoencoder detector/);
      }
    } finally {
      detector.dispose();
    }
    assert.equal(liveTensors(), base, 'no tensor leaked');
  });
}

test('export: --checkpoint and --detector together, or neither, is a usage error', async () => {
  const neither = await run(['export', '--out', join(dir, 'x.onnx')]);
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /Expected either --checkpoint PATH or --detector PATH but received neither/);
  const both = await run(['export', '--checkpoint', 'a.ckpt', '--detector', 'b.dmdet', '--out', join(dir, 'x.onnx')]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /received both/);
});

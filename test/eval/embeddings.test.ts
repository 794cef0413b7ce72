// Embedding extraction: eval mode and no grad during the pass, previous mode restored, batches joined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGradEnabled, liveTensors, manualSeed, nn, randn, tidy, type Tensor } from '../../src/index.js';
import { extractEmbeddings, type EmbeddingModel } from '../../src/eval/index.js';
import { assertClose } from '../helpers.js';

/** Records the mode and grad state seen by each forward call. */
class Probe implements EmbeddingModel {
  training = true;
  seen: { training: boolean; grad: boolean }[] = [];
  constructor(private readonly fail = -1) {}
  eval(): this { this.training = false; return this; }
  train(mode = true): this { this.training = mode; return this; }
  forward(x: Tensor): Tensor {
    this.seen.push({ training: this.training, grad: isGradEnabled() });
    if (this.seen.length - 1 === this.fail) throw new Error('forward failed');
    return x.flatten(1).mul(2);
  }
}

function* batches(xs: Tensor[]): Generator<Tensor> {
  yield* xs;
}

test('extractEmbeddings runs in eval mode without grad, restores the mode, and concatenates', async () => {
  manualSeed(12);
  const base = liveTensors();
  const xs = tidy(() => [randn([4, 3]), randn([5, 3]), randn([2, 3])]);
  for (const wasTraining of [true, false]) {
    const model = new Probe().train(wasTraining);
    const out = await extractEmbeddings(model, batches(xs));
    assert.deepEqual(model.seen, new Array(3).fill({ training: false, grad: false }));
    assert.equal(model.training, wasTraining);
    assert.deepEqual(out.shape, [11, 3]);
    assert.equal(out.dtype, 'float32');
    assert.equal(out.device, 'cpu');
    assertClose(out, xs.flatMap((x) => x.toNumbers().map((v) => 2 * v)));
    out.dispose();
  }
  for (const x of xs) x.dispose();
  assert.equal(liveTensors(), base);
});

test('extractEmbeddings takes async iterables and a real Module, and can free the batches', async () => {
  manualSeed(13);
  const layer = new nn.Linear({ inFeatures: 6, outFeatures: 4 });
  const base = liveTensors();
  async function* source(): AsyncGenerator<Tensor> {
    for (let i = 0; i < 3; i++) yield randn([7, 6]);
  }
  const out = await extractEmbeddings(layer, source(), { disposeBatches: true });
  assert.deepEqual(out.shape, [21, 4]);
  assert.equal(layer.training, true);
  assert.equal(out.requiresGrad, false);
  out.dispose();
  assert.equal(liveTensors(), base);
});

test('extractEmbeddings restores the mode and frees partial results when a batch fails', async () => {
  const base = liveTensors();
  const xs = tidy(() => [randn([2, 3]), randn([2, 3]), randn([2, 3])]);
  const model = new Probe(1);
  await assert.rejects(extractEmbeddings(model, batches(xs)), /forward failed/);
  assert.equal(model.training, true);
  await assert.rejects(extractEmbeddings(new Probe(), batches([])), /Expected at least one batch to embed but received none/);
  const flat = { training: false, eval() {}, train() {}, forward: (x: Tensor) => x.sum(1) };
  await assert.rejects(extractEmbeddings(flat, batches(xs)), /Expected the model to return \[2,D\] embeddings for batch 0 but received shape \[2\]/);
  for (const x of xs) x.dispose();
  assert.equal(liveTensors(), base);
});

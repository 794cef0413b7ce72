// Every head through the registry: names and errors, config round trip, save and load with the
// model's state dict, batch invariance in eval mode, inference predictions and tensor accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, cat, liveTensors, manualSeed, randint, randn, tidy } from '../../src/index.js';
import { type ClassificationHead, HEAD_NAMES, createHead } from '../../src/losses/index.js';
import { assertClose } from '../helpers.js';

manualSeed(21);
const D = 6;
const C = 5;
const CLASSIFIERS = ['softmax', 'softmax+center', 'l2softmax', 'normface', 'cosface', 'arcface', 'subcenter-arcface', 'sphereface', 'adacos'];

test('the registry names every head and loss', () => {
  assert.deepEqual([...HEAD_NAMES].sort(), [...CLASSIFIERS, 'contrastive', 'triplet', 'multisimilarity'].sort());
  for (const name of HEAD_NAMES) {
    const head = createHead(name, { embeddingDim: D, numClasses: C });
    assert.equal(head.name, name);
    assert.equal(head.classifies, CLASSIFIERS.includes(name));
    head.dispose();
  }
});

test('createHead rejects unknown names and options, listing the valid ones', () => {
  assert.throws(() => createHead('arcfase', { embeddingDim: D, numClasses: C }), /Expected a head name, one of 'softmax', .*'arcface'.* but received "arcfase"/);
  assert.throws(() => createHead('arcface', { embeddingDim: D, numClasses: C, margn: 0.3 }), /Expected options of head 'arcface' among embeddingDim, numClasses, scale, margin but received 'margn'/);
  assert.throws(() => createHead('arcface', { embeddingDim: D, numClasses: C, name: 'cosface' }), /Expected config.name to be 'arcface'/);
  assert.throws(() => createHead('cosface', { embeddingDim: D, numClasses: C, scale: -1 }), /Expected a number > 0 for scale but received -1/);
});

test('config() is JSON and rebuilds an equal head', () => {
  const options: Record<string, Record<string, unknown>> = {
    'arcface': { margin: 0.3, scale: 20 }, 'triplet': { mining: 'hard' }, 'l2softmax': { alpha: 10, learnableAlpha: true }, 'adacos': { dynamic: false },
  };
  for (const name of HEAD_NAMES) {
    const head = createHead(name, { embeddingDim: D, numClasses: C, ...options[name] });
    const config = JSON.parse(JSON.stringify(head.config())) as Record<string, unknown> & { embeddingDim: number; numClasses: number };
    assert.equal(config.name, name);
    for (const [k, v] of Object.entries(options[name] ?? {})) assert.equal(config[k], v, `${name}.${k}`);
    const rebuilt = createHead(String(config.name), config);
    assert.deepEqual(rebuilt.config(), head.config());
    head.dispose();
    rebuilt.dispose();
  }
});

test('classification heads save and load with the state dict: identical logits and predictions', () => {
  const start = liveTensors();
  for (const name of CLASSIFIERS) {
    const trained = createHead(name, { embeddingDim: D, numClasses: C }) as ClassificationHead;
    tidy(() => {
      // A training step's worth of state: SphereFace's iteration, AdaCos's scale.
      trained.train();
      trained.loss(randn([16, D]), randint(0, C, [16]));
      trained.eval();
      const fresh = createHead(name, trained.config() as { embeddingDim: number; numClasses: number }).eval();
      fresh.loadStateDict(trained.stateDict());
      const e = randn([8, D]);
      const labels = randint(0, C, [8]);
      assert.deepEqual(fresh.logits(e).toNumbers(), trained.logits(e).toNumbers(), `${name} logits`);
      assert.deepEqual(fresh.predict(e).toNumbers(), trained.predict(e).toNumbers(), `${name} predictions`);
      assert.deepEqual((fresh as ClassificationHead).lossTerms(e, labels).toNumbers(), trained.lossTerms(e, labels).toNumbers(), `${name} loss terms`);
      assert.deepEqual(trained.forward(e).toNumbers(), trained.logits(e).toNumbers(), `${name} forward = logits`);
      const p = trained.predict(e);
      assert.equal(p.dtype, 'int64');
      assert.deepEqual(p.shape, [8]);
      fresh.dispose();
    });
    trained.dispose();
  }
  assert.equal(liveTensors(), start);
});

test('batch invariance (eval mode): a sample\'s logits and loss term do not depend on the rest of its batch', () => {
  for (const name of CLASSIFIERS) {
    const head = createHead(name, { embeddingDim: D, numClasses: C }) as ClassificationHead;
    tidy(() => {
      head.train();
      head.loss(randn([16, D]), randint(0, C, [16])); // moves AdaCos's scale and SphereFace's λ away from their start
      head.eval();
      const mine = randn([3, D]);
      const myLabels = randint(0, C, [3]);
      const alone = { logits: head.logits(mine), terms: head.lossTerms(mine, myLabels) };
      for (const others of [4, 13]) {
        const batch = cat([randn([others, D]).mul(5), mine]);
        const labels = cat([randint(0, C, [others]), myLabels]);
        const inBatch = (t: Tensor): Tensor => t.narrow(0, others, 3);
        assertClose(inBatch(head.logits(batch)), alone.logits.toNumbers(), { atol: 1e-5, rtol: 1e-5, what: `${name} logits among ${others}` });
        assertClose(inBatch(head.lossTerms(batch, labels)), alone.terms.toNumbers(), { atol: 1e-5, rtol: 1e-5, what: `${name} loss terms among ${others}` });
      }
    });
    head.dispose();
  }
});

test('loss and backward leave the live-tensor count at its baseline', () => {
  for (const name of HEAD_NAMES) {
    const head = createHead(name, { embeddingDim: D, numClasses: C });
    const start = liveTensors();
    tidy(() => {
      const e = randn([12, D], { requiresGrad: true });
      const labels = randint(0, 3, [12]);
      const loss = head.loss(e, labels);
      assert.deepEqual(loss.shape, [], `${name} loss is a scalar`);
      assert.ok(Number.isFinite(loss.item()), `${name} loss is finite`);
      loss.backward();
      if (head.classifies) head.predict(e.detach());
    });
    assert.equal(liveTensors(), start, `${name} leaked ${liveTensors() - start} tensors`);
    head.dispose();
  }
});

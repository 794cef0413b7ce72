// Scores from a classifying head's softmax, against a direct computation on known logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, tensor, tidy } from '../../src/index.js';
import { createHead } from '../../src/losses/registry.js';
import { maxSoftmaxScore, normalPosteriorScore } from '../../src/anomaly/max-softmax-score.js';
import { assertClose } from '../helpers.js';

test('msp and normal-prob follow from the softmax of the logits', () => {
  const base = liveTensors();
  // A softmax head whose logits equal its 3-d embeddings: identity weights, zero bias.
  const head = createHead('softmax', { embeddingDim: 3, numClasses: 3 });
  tidy(() => head.loadStateDict({ 'fc.weight': tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), 'fc.bias': tensor([0, 0, 0]) }));
  head.eval();
  const logits = [[2, 0, 0], [0, 3, 1], [1, 1, 1]];
  const softmax = logits.map((r) => { const e = r.map(Math.exp); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); });
  tidy(() => {
    const emb = tensor(logits);
    assertClose(maxSoftmaxScore(head, emb), softmax.map((p) => 1 - Math.max(...p)));
    // Classes 0 and 1 normal: the score is the mass on class 2.
    assertClose(normalPosteriorScore(head, emb, 2), softmax.map((p) => p[2]));
    assertClose(normalPosteriorScore(head, emb, 1), softmax.map((p) => 1 - p[0]));
    assert.throws(() => normalPosteriorScore(head, emb, 3), /Expected a normal class count between 1 and 2 but received 3/);
  });
  head.dispose();
  assert.equal(liveTensors(), base);
});

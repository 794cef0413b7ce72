// Forward values of nn ops against PyTorch (fixtures from scripts/make_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tidy, type Tensor } from '../../src/index.js';
import { assertClose, decode, loadFixtures, type FixtureCase } from '../helpers.js';

const fixtures = loadFixtures();

type Compute = (i: Record<string, Tensor>, o: Record<string, any>) => Record<string, Tensor>;

const compute: Record<string, Compute> = {
  conv2d_stride2_pad1: (i, o) => ({ y: F.conv2d(i.x, i.w, i.b, { stride: o.stride, padding: o.padding }) }),
  conv2d_same_dilation2: (i, o) => ({ y: F.conv2d(i.x, i.w, null, { padding: o.padding, dilation: o.dilation }) }),
  conv2d_depthwise: (i, o) => ({ y: F.conv2d(i.x, i.w, null, { padding: o.padding, groups: o.groups }) }),
  conv_transpose2d: (i, o) => ({ y: F.convTranspose2d(i.x, i.w, i.b, { stride: o.stride, padding: o.padding, outputPadding: o.outputPadding }) }),
  batch_norm_train: (i, o) => {
    const y = F.batchNorm(i.x, { weight: i.g, bias: i.b, runningMean: i.rm, runningVar: i.rv, training: true, momentum: o.momentum, eps: o.eps });
    return { y, rm_after: i.rm, rv_after: i.rv };
  },
  batch_norm_eval: (i, o) => ({ y: F.batchNorm(i.x, { weight: i.g, bias: i.b, runningMean: i.rm, runningVar: i.rv, training: false, eps: o.eps }) }),
  linear: (i) => ({ y: F.linear(i.x, i.w, i.b) }),
  normalize: (i) => ({ y: F.normalize(i.x) }),
  cross_entropy: (i) => ({ loss: F.crossEntropy(i.logits, i.target) }),
  cross_entropy_smooth_weighted: (i, o) => ({ loss: F.crossEntropy(i.logits, i.target, { weight: i.weight, labelSmoothing: o.labelSmoothing }) }),
  cross_entropy_none: (i) => ({ loss: F.crossEntropy(i.logits, i.target, { reduction: 'none' }) }),
  nll_loss: (i) => ({ loss: F.nllLoss(i.logp, i.target) }),
  mse_loss: (i) => ({ loss: F.mseLoss(i.a, i.b) }),
  bce: (i) => ({ loss: F.binaryCrossEntropy(i.p, i.t) }),
  bce_logits: (i) => ({ loss: F.binaryCrossEntropyWithLogits(i.z, i.t) }),
  max_pool2d: (i, o) => ({ y: F.maxPool2d(i.x, o.kernel, { stride: o.stride, padding: o.padding }) }),
  avg_pool2d: (i, o) => ({ y: F.avgPool2d(i.x, o.kernel) }),
  adaptive_avg_pool2d: (i, o) => ({ y: F.adaptiveAvgPool2d(i.x, o.size) }),
  upsample_nearest: (i, o) => ({ y: F.upsample(i.x, o.size, 'nearest') }),
  upsample_bilinear: (i, o) => ({ y: F.upsample(i.x, o.size, 'bilinear') }),
  activations: ({ x }) => ({
    relu: F.relu(x), relu6: F.relu6(x), leaky: F.leakyRelu(x, 0.2), sigmoid: F.sigmoid(x), tanh: F.tanh(x),
    gelu: F.gelu(x), silu: F.silu(x), hardswish: F.hardswish(x), softmax: F.softmax(x, 1), log_softmax: F.logSoftmax(x, 1),
  }),
  cdist_cosine: ({ a, b }) => ({ cdist: F.cdist(a, b), cos: F.cosineSimilarity(a.slice(0, 0, 4), b, 1) }),
  reductions: ({ x }) => ({
    sum1: x.sum(1), mean0k: x.mean(0, true), var1: x.var(1), std0: x.std(0), logsumexp1: x.logsumexp(1),
    norm1: x.norm(2, 1), median: x.median(), median1: x.medianWithIndices(1).values, amax1: x.max(1),
    argmin0: x.argmin(0), prod1: x.prod(1),
  }),
  topk_sort: ({ x }) => {
    const t = x.topk(3, 1);
    const s = x.sort(0, true);
    return { topk_values: t.values, topk_indices: t.indices, sort_values: s.values, sort_indices: s.indices };
  },
};

for (const [name, fn] of Object.entries(compute)) {
  test(`${name} matches PyTorch`, () => {
    const c = fixtures.get(name) as FixtureCase;
    assert.ok(c, `fixture ${name} exists`);
    tidy(() => {
      const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, decode(v)]));
      const out = fn(inputs, c.opts);
      for (const [k, expected] of Object.entries(c.outputs)) {
        assert.ok(out[k], `${name} computes ${k}`);
        assertClose(out[k], expected, { atol: 2e-5, rtol: 2e-4, what: `${name}.${k}` });
      }
    });
  });
}

test('every fixture case is checked', () => {
  assert.deepEqual([...fixtures.keys()].filter((k) => !k.startsWith('optim_') && !(k in compute)), []);
});

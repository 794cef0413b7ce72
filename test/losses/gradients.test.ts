// Gradients of every head and loss against central finite differences in float64 (the helper's
// tolerance: 1e-6 absolute + 1e-5 relative), with respect to the embeddings and to each parameter
// (the margin base's class weights W among them). Heads are in eval mode so that SphereFace's
// iteration and AdaCos's dynamic scale stay put between evaluations.
import { test } from 'node:test';
import { type Tensor, liveTensors, manualSeed, noGrad, randn, tensor, tidy } from '../../src/index.js';
import { type Head, createHead } from '../../src/losses/index.js';
import { assertClose, gradcheck } from '../helpers.js';
import { toFloat64 } from './reference.js';
import assert from 'node:assert/strict';

manualSeed(3);
const D = 4;
const C = 3;
const labels = tensor([0, 1, 2, 1, 0, 2], { dtype: 'int64' });

/** Finite differences of head.loss with respect to a parameter, perturbed in place. */
function paramGradcheck(head: Head, name: string, param: Tensor, e: Tensor): void {
  const analytic = tidy(() => {
    param.zeroGrad();
    head.loss(e, labels).backward();
    const g = param.grad!.toNumbers();
    param.zeroGrad();
    return g;
  });
  const base = Float64Array.from(param.toNumbers());
  const eps = 1e-6;
  const numeric = noGrad(() => Array.from(base, (_, i) => tidy(() => {
    const at = (delta: number): number => {
      const v = base.slice();
      v[i] += delta;
      param.copy_(tensor(v, { shape: param.shape, dtype: 'float64' }));
      return head.loss(e, labels).item();
    };
    const value = (at(eps) - at(-eps)) / (2 * eps);
    param.copy_(tensor(base, { shape: param.shape, dtype: 'float64' }));
    return value;
  })));
  assertClose(analytic, numeric, { atol: 1e-6, rtol: 1e-5, what: `d/d${name}` });
}

const cases: [string, Record<string, unknown>][] = [
  ['softmax', {}], ['softmax+center', { centerWeight: 0.5 }], ['l2softmax', { alpha: 4 }], ['l2softmax', { alpha: 4, learnableAlpha: true }],
  ['normface', { scale: 4 }], ['cosface', { scale: 4 }], ['arcface', { scale: 4 }], ['subcenter-arcface', { scale: 4, subCenters: 2 }],
  ['sphereface', { lambdaMin: 2 }], ['adacos', {}],
  ['contrastive', {}], ['contrastive', { distance: 'cosine', negMargin: 0.1 }], ['triplet', { margin: 0.5 }], ['triplet', { mining: 'hard', margin: 0.5 }],
  ['triplet', { mining: 'semihard', margin: 0.5 }], ['multisimilarity', { base: 0.2 }], ['multisimilarity', { base: 0.2, mine: false }],
];

for (const [name, opts] of cases) {
  test(`${name} ${JSON.stringify(opts)}: gradients match finite differences`, () => {
    const start = liveTensors();
    const head = createHead(name, { embeddingDim: D, numClasses: C, ...opts }).eval();
    tidy(() => {
      toFloat64(head);
      if (name === 'sphereface') noGrad(() => head.namedBuffers()[0][1].fill_(20));
      if (name === 'softmax+center') noGrad(() => head.stateDict()['center.centers'].copy_(randn([C, D], { dtype: 'float64' })));
      const e = randn([6, D], { dtype: 'float64' });
      gradcheck((x) => head.loss(x, labels), e, { what: `${name} d/dembeddings` });
      for (const [pname, p] of head.namedParameters()) paramGradcheck(head, pname, p, e);
    });
    head.dispose();
    assert.equal(liveTensors(), start, 'no tensor left behind');
  });
}

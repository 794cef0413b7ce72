// Each reducer against plain-JS arithmetic on the same terms, the zero loss with a usable gradient
// when there is no term, and the JSON specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, randn, tensor, tidy, zeros } from '../../src/index.js';
import {
  MeanNonZeroReducer, MeanReducer, REDUCER_NAMES, SumReducer, ThresholdReducer, createReducer,
} from '../../src/losses/index.js';
import { assertClose } from '../helpers.js';

const values = [0, 0.5, 0, 2, 0.25, 3, 0, 1];
const source = () => randn([4, 3], { requiresGrad: true });
const sum = (v: number[]): number => v.reduce((s, x) => s + x, 0);

test('mean, sum, meanNonZero and threshold reduce terms as plain JS does', () => tidy(() => {
  const t = tensor(values);
  const s = source();
  assertClose(new MeanReducer().reduce(t, s), sum(values) / values.length, { what: 'mean' });
  assertClose(new SumReducer().reduce(t, s), sum(values), { what: 'sum' });
  const nonZero = values.filter((v) => v > 0);
  assertClose(new MeanNonZeroReducer().reduce(t, s), sum(nonZero) / nonZero.length, { what: 'meanNonZero' });
  for (const [low, high] of [[0.4, undefined], [undefined, 1.5], [0.3, 2.5], [5, undefined]] as const) {
    const kept = values.filter((v) => (low === undefined || v > low) && (high === undefined || v < high));
    const expected = kept.length === 0 ? 0 : sum(kept) / kept.length;
    assertClose(new ThresholdReducer({ low, high }).reduce(t, s), expected, { what: `threshold (${low}, ${high})` });
  }
}));

test('gradients flow only to the terms a reducer keeps', () => tidy(() => {
  const t = tensor(values, { requiresGrad: true });
  new MeanNonZeroReducer().reduce(t, t).backward();
  const n = values.filter((v) => v > 0).length;
  assertClose(t.grad!, values.map((v) => (v > 0 ? 1 / n : 0)), { what: 'd meanNonZero / d terms' });
}));

test('no terms: a zero loss still connected to the embeddings, for every reducer', () => {
  const start = liveTensors();
  for (const name of REDUCER_NAMES) {
    tidy(() => {
      const reducer = createReducer(name === 'threshold' ? { name, low: 0 } : name);
      const s = source();
      const loss = reducer.reduce(zeros([0]), s);
      assert.equal(Math.abs(loss.item()), 0, name);
      loss.backward();
      assert.equal(s.grad!.abs().sum().item(), 0, `${name}: zero gradient`);
    });
  }
  assert.equal(liveTensors(), start);
});

test('createReducer: names, specs, round trip and clear errors', () => {
  for (const spec of ['mean', 'meanNonZero', 'sum', { name: 'threshold', low: 0.1 }, { name: 'threshold', low: 0, high: 2 }] as const) {
    const r = createReducer(spec);
    assert.deepEqual(r.config(), spec);
    assert.deepEqual(createReducer(r.config()).config(), spec);
    assert.equal(createReducer(r), r);
  }
  assert.throws(() => createReducer('median' as never), (e: unknown) => e instanceof RangeError && /Expected a reducer name, one of 'mean', 'meanNonZero', 'sum', 'threshold', but received "median"/.test(e.message));
  assert.throws(() => createReducer({ name: 'threshold' }), /Expected low, high or both for the threshold reducer but received neither/);
  assert.throws(() => createReducer({ name: 'threshold', low: 2, high: 1 }), /Expected low < high/);
  assert.throws(() => createReducer({ name: 'mean', low: 1 }), /Expected no options beyond the name for the mean reducer but received 'low'/);
  assert.throws(() => new MeanReducer().reduce(zeros([2, 2]), zeros([1])), (e: unknown) => e instanceof RangeError && /Expected 1-d terms/.test(e.message));
});

// Each distance against plain-JS loops (float64 inputs; tolerance 1e-9 absolute + 1e-9 relative),
// its direction (isInverted, margin), its JSON spec, and k-NN search with a Distance object against
// a brute-force JS search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import {
  CosineSimilarity, DISTANCE_NAMES, type Distance, DotProductSimilarity, EuclideanDistance, SquaredEuclideanDistance, createDistance,
} from '../../src/distances/index.js';
import { knnSearch } from '../../src/eval/knn.js';
import { assertClose } from '../helpers.js';

manualSeed(5);
type Matrix = number[][];
const rows = (t: Tensor): Matrix => t.toArray() as Matrix;
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
const unit = (a: number[]): number[] => {
  const n = Math.max(Math.sqrt(dot(a, a)), 1e-12);
  return a.map((v) => v / n);
};
const squaredEuclid = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/** The plain-JS value of each distance between two rows, with or without normalising them first. */
const REFERENCE: Record<string, (a: number[], b: number[]) => number> = {
  cosine: (a, b) => dot(unit(a), unit(b)),
  dot,
  euclidean: (a, b) => Math.sqrt(squaredEuclid(a, b)),
  squaredEuclidean: squaredEuclid,
};
const tol = { atol: 1e-9, rtol: 1e-9 };

const CASES: [string, () => Distance, boolean][] = [
  ['cosine', () => new CosineSimilarity(), true],
  ['dot', () => new DotProductSimilarity(), false],
  ['dot', () => new DotProductSimilarity({ normalizeEmbeddings: true }), true],
  ['euclidean', () => new EuclideanDistance(), true],
  ['euclidean', () => new EuclideanDistance({ normalizeEmbeddings: false }), false],
  ['squaredEuclidean', () => new SquaredEuclideanDistance(), true],
  ['squaredEuclidean', () => new SquaredEuclideanDistance({ normalizeEmbeddings: false }), false],
];

for (const [name, make, normalized] of CASES) {
  test(`${name} (normalizeEmbeddings ${normalized}): matrix and rows match plain JS`, () => {
    const start = liveTensors();
    tidy(() => {
      const d = make();
      assert.equal(d.name, name);
      assert.equal(d.normalizeEmbeddings, normalized);
      assert.equal(d.isInverted, name === 'cosine' || name === 'dot');
      const q = randn([5, 4], { dtype: 'float64' }).mul(3);
      const r = randn([7, 4], { dtype: 'float64' });
      const [qr, rr] = [rows(q), rows(r)].map((m) => (normalized ? m.map(unit) : m));
      const f = REFERENCE[name];
      assertClose(d.matrix(q, r), qr.flatMap((a) => rr.map((b) => f(a, b))), { ...tol, what: 'query × reference' });
      assertClose(d.matrix(q), qr.flatMap((a) => qr.map((b) => f(a, b))), { ...tol, what: 'query × itself' });
      assert.deepEqual(d.matrix(q, r).shape, [5, 7]);
      const r5 = r.narrow(0, 0, 5);
      assertClose(d.rows(q, r5), qr.map((a, i) => f(a, rr[i])), { ...tol, what: 'row by row' });
    });
    assert.equal(liveTensors(), start);
  });
}

test('margin() points "farther" the same way for distances and similarities', () => tidy(() => {
  const near = tensor([0.1]);
  const far = tensor([0.9]);
  // For a distance, far − near > 0; for a similarity the values mean the opposite, so near − far.
  assertClose(new EuclideanDistance().margin(far, near), [0.8], { what: 'distance' });
  assertClose(new CosineSimilarity().margin(far, near), [-0.8], { what: 'similarity' });
  assertClose(new EuclideanDistance().margin(far, 0.5), [0.4], { what: 'distance − number' });
  assertClose(new CosineSimilarity().margin(far, 0.5), [-0.4], { what: 'number − similarity' });
  assertClose(new CosineSimilarity().margin(0.5, far), [0.4], { what: 'similarity − number' });
  assertClose(new CosineSimilarity().farness(far), [-0.9], { what: 'farness of a similarity' });
  assertClose(new EuclideanDistance().farness(far), [0.9], { what: 'farness of a distance' });
}));

test('createDistance: names, specs, config round trip and clear errors', () => {
  for (const name of DISTANCE_NAMES) {
    const d = createDistance(name);
    assert.equal(d.name, name);
    assert.deepEqual(createDistance(d.config()).config(), d.config());
    assert.equal(createDistance(d), d, 'a Distance is passed through');
  }
  assert.equal(createDistance({ name: 'euclidean', normalizeEmbeddings: false }).normalizeEmbeddings, false);
  assert.equal(createDistance('euclidean', { normalizeEmbeddings: false }).normalizeEmbeddings, false);
  assert.throws(() => createDistance('manhattan' as never), (e: unknown) => e instanceof RangeError && /Expected a distance name, one of 'cosine', 'euclidean', 'squaredEuclidean', 'dot', but received "manhattan"/.test(e.message));
  assert.throws(() => createDistance(3 as never), TypeError);
  assert.throws(() => createDistance({ name: 'euclidean', p: 1 } as never), /Expected distance options among normalizeEmbeddings but received 'p'/);
  assert.throws(() => new CosineSimilarity({ normalizeEmbeddings: false }), (e: unknown) => e instanceof RangeError && /use the dot product/.test(e.message));
  assert.throws(() => new EuclideanDistance().matrix(tensor([1, 2])), /euclidean distance: Expected a 2-d tensor \[N,D\] for query but received shape \[2\]/);
  assert.throws(() => new EuclideanDistance().matrix(randn([2, 3]), randn([2, 4])), /Expected reference of shape \[N,3\] but received \[2,4\]/);
});

test('knnSearch takes any Distance: squared euclidean and dot product against brute force', () => {
  const start = liveTensors();
  tidy(() => {
    const queries = randn([9, 5], { dtype: 'float64' });
    const references = randn([23, 5], { dtype: 'float64' });
    const [q, r] = [rows(queries), rows(references)];
    const k = 4;
    const cases: [Distance, (a: number[], b: number[]) => number][] = [
      [new SquaredEuclideanDistance({ normalizeEmbeddings: false }), squaredEuclid],
      [new EuclideanDistance(), (a, b) => Math.sqrt(squaredEuclid(unit(a), unit(b)))],
      [new DotProductSimilarity(), (a, b) => 1 - dot(a, b)],
      [new CosineSimilarity(), (a, b) => 1 - dot(unit(a), unit(b))],
    ];
    for (const [distance, f] of cases) {
      const expected = q.map((a) => r.map((b, j) => ({ j, d: f(a, b) })).sort((x, y) => x.d - y.d).slice(0, k));
      for (const referenceChunk of [23, 6]) {
        const { distances, indices } = knnSearch(queries, references, { k, metric: distance, referenceChunk, queryChunk: 4 });
        const what = `${distance.name} (normalise ${distance.normalizeEmbeddings}), chunks of ${referenceChunk}`;
        assert.deepEqual(rows(indices), expected.map((row) => row.map((e) => e.j)), `${what}: indices`);
        assertClose(distances, expected.flatMap((row) => row.map((e) => e.d)), { atol: 1e-9, rtol: 1e-9, what });
      }
    }
  });
  assert.equal(liveTensors(), start);
});

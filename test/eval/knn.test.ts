// Exact k-NN against a brute-force JS search, across chunk boundaries; the HNSW index's recall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import { HnswIndex, hnswAvailable, knnSearch, type KnnMetric } from '../../src/eval/index.js';
import { assertClose } from '../helpers.js';

function rows(t: Tensor): number[][] {
  return t.toArray() as number[][];
}

function distance(a: number[], b: number[], metric: KnnMetric): number {
  if (metric === 'euclidean') return Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
  const dot = a.reduce((s, v, i) => s + v * b[i], 0);
  const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return 1 - dot / (norm(a) * norm(b));
}

/** Every query against every reference, sorted: the definition of exact k-NN. */
function bruteForce(q: number[][], r: number[][], k: number, metric: KnnMetric, excludeSelf = false): { d: number[][]; i: number[][] } {
  const d: number[][] = [];
  const i: number[][] = [];
  q.forEach((qi, qIndex) => {
    const all = r.map((ri, rIndex) => ({ rIndex, dist: distance(qi, ri, metric) }))
      .filter(({ rIndex }) => !(excludeSelf && rIndex === qIndex))
      .sort((a, b) => a.dist - b.dist)
      .slice(0, k);
    d.push(all.map((a) => a.dist));
    i.push(all.map((a) => a.rIndex));
  });
  return { d, i };
}

test('knnSearch matches brute force for both metrics, with chunk sizes that do not divide the data', () => {
  manualSeed(1);
  const base = liveTensors();
  tidy(() => {
    const queries = randn([37, 6]);
    const references = randn([53, 6]);
    const q = rows(queries);
    const r = rows(references);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const expected = bruteForce(q, r, 5, metric);
      // Whole, and chunked 7 × 11 (37 = 5·7 + 2 and 53 = 4·11 + 9 leave partial chunks), and
      // reference chunks smaller than k (3 < 5), which the top-k merge must handle.
      for (const chunks of [{}, { queryChunk: 7, referenceChunk: 11 }, { queryChunk: 36, referenceChunk: 3 }, { maxChunkBytes: 4 * 100 }]) {
        const { distances, indices } = knnSearch(queries, references, { k: 5, metric, ...chunks });
        assert.deepEqual(indices.shape, [37, 5]);
        assert.equal(indices.dtype, 'int64');
        assert.deepEqual(rows(indices), expected.i, `${metric} ${JSON.stringify(chunks)}`);
        assertClose(distances, expected.d.flat(), { atol: 2e-5, rtol: 1e-4, what: `${metric} distances` });
      }
    }
  });
  assert.equal(liveTensors(), base);
});

test('excludeSelf leaves each point out of its own neighbours, in every chunk layout', () => {
  manualSeed(2);
  const base = liveTensors();
  tidy(() => {
    const x = randn([29, 4], { dtype: 'float64' });
    const data = rows(x);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const expected = bruteForce(data, data, 4, metric, true);
      for (const chunks of [{}, { queryChunk: 5, referenceChunk: 6 }, { queryChunk: 1, referenceChunk: 1 }]) {
        const { distances, indices } = knnSearch(x, x, { k: 4, metric, excludeSelf: true, ...chunks });
        assert.equal(distances.dtype, 'float64');
        assert.deepEqual(rows(indices), expected.i, `${metric} ${JSON.stringify(chunks)}`);
        assertClose(distances, expected.d.flat(), { atol: 1e-9, rtol: 1e-9 });
      }
    }
    // Without excludeSelf a point is its own nearest neighbour at distance 0.
    const { distances, indices } = knnSearch(x, x, { k: 1, metric: 'euclidean' });
    assert.deepEqual(indices.toNumbers(), data.map((_, i) => i));
    assertClose(distances, new Array<number>(29).fill(0), { atol: 1e-6 });
  });
  assert.equal(liveTensors(), base);
});

test('knnSearch checks its arguments', () => {
  tidy(() => {
    const a = randn([5, 3]);
    assert.throws(() => knnSearch(a, randn([4, 2]), { k: 1 }), /Expected references with 3 features \(as queries \[5,3\]\) but received \[4,2\]/);
    assert.throws(() => knnSearch(a, a, { k: 5, excludeSelf: true }), /Expected an integer between 1 and 4 for k \(at most 4 reference rows besides the query itself\) but received 5/);
    assert.throws(() => knnSearch(a, randn([6, 3]), { k: 1, excludeSelf: true }), /Expected queries and references of the same size with excludeSelf but received 5 and 6 rows/);
    assert.throws(() => knnSearch(a, a, { k: 1, metric: 'l1' as never }), /Expected 'cosine' or 'euclidean' for metric but received "l1"/);
    assert.throws(() => knnSearch(a, a, { k: 1, chunk: 3 } as never), /Unknown option "chunk" for knnSearch/);
    assert.throws(() => knnSearch(tensor([1, 2]), a, { k: 1 }), /Expected a 2-d tensor \[N,D\] for queries but received shape \[2\]/);
  });
});

test('knnSearch on 20k × 20k never builds the full distance matrix and frees everything', () => {
  manualSeed(3);
  const base = liveTensors();
  tidy(() => {
    const x = randn([20000, 16]);
    const rssBefore = process.memoryUsage().rss;
    const { indices } = knnSearch(x, x, { k: 10, excludeSelf: true });
    assert.deepEqual(indices.shape, [20000, 10]);
    // A full [20000, 20000] float32 matrix would be 1.6 GB; 64 MB chunks keep growth far below it
    // (the bound is loose: glibc may keep freed blocks mapped for reuse).
    const growth = process.memoryUsage().rss - rssBefore;
    assert.ok(growth < 500 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(0)} MB`);
    // Spot-check a few rows against brute force.
    const data = rows(x.narrow(0, 0, 20000));
    for (const row of [0, 12345, 19999]) {
      const expected = bruteForce([data[row]], data, 11, 'cosine').i[0].filter((i) => i !== row).slice(0, 10);
      assert.deepEqual(rows(indices.narrow(0, row, 1))[0], expected);
    }
  });
  assert.equal(liveTensors(), base);
});

test('HnswIndex finds (nearly) the exact neighbours', { skip: !hnswAvailable() && 'hnswlib-node is not installed' }, () => {
  manualSeed(4);
  const base = liveTensors();
  tidy(() => {
    const references = randn([2000, 16]);
    const queries = randn([100, 16]);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const index = new HnswIndex(16, { metric, ef: 100, seed: 1 });
      index.add(references.narrow(0, 0, 1500)).add(references.narrow(0, 1500, 500));
      assert.equal(index.size, 2000);
      const approx = index.search(queries, 10);
      const exact = knnSearch(queries, references, { k: 10, metric });
      const a = rows(approx.indices);
      const e = rows(exact.indices);
      const found = a.reduce((s, row, i) => s + row.filter((j) => e[i].includes(j)).length, 0);
      assert.ok(found / 1000 > 0.95, `${metric} recall@10 = ${found / 1000}`);
      // Where both found the same first neighbour, the distances agree (same conventions).
      const ad = rows(approx.distances);
      const ed = rows(exact.distances);
      for (let i = 0; i < 100; i++) if (a[i][0] === e[i][0]) assertClose(ad[i][0], ed[i][0], { atol: 1e-4, rtol: 1e-4 });
    }
    assert.throws(() => new HnswIndex(16).search(queries, 1), /Expected an integer between 1 and 0 for k/);
    assert.throws(() => new HnswIndex(16, { efSearch: 3 } as never), /Unknown option "efSearch" for HnswIndex/);
  });
  assert.equal(liveTensors(), base);
});

test('HnswIndex.toBytes → fromBytes (and hnswlib\'s own format): the same graph, the same results, vectors stored once; a graph that does not fit is refused', { skip: !hnswAvailable() && 'hnswlib-node is not installed' }, () => {
  manualSeed(5);
  const base = liveTensors();
  tidy(() => {
    const references = randn([1500, 24]);
    const queries = randn([60, 24]);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const built = new HnswIndex(24, { metric, m: 12, efConstruction: 100, seed: 3 }).add(references);
      const bytes = built.toBytes();
      const loaded = HnswIndex.fromBytes(bytes, references, { metric, m: 12, efConstruction: 100 });
      assert.equal(loaded.size, 1500);
      const [a, b] = [built.search(queries, 7), loaded.search(queries, 7)];
      assert.deepEqual(rows(b.indices), rows(a.indices), metric);
      assert.deepEqual(rows(b.distances), rows(a.distances), metric);
      // The vectors fromBytes wrote are those hnswlib stored: saving again gives the same bytes
      // (but for max_elements, the capacity, which fromBytes sets to the count).
      const again = loaded.toBytes();
      bytes.writeBigUInt64LE(1500n, 8);
      assert.ok(again.equals(bytes), `${metric}: the graph changed in a save → load → save`);
      // Stored without hnswlib's copy of the vectors; hnswlib's own format (earlier files) loads the same.
      assert.equal(bytes.length, built.toHnswlibBytes().length - 1500 * 24 * 4, `${metric}: the vectors are not stored twice`);
      const legacy = HnswIndex.fromHnswlibBytes(built.toHnswlibBytes(), references, { metric, m: 12, efConstruction: 100 });
      assert.deepEqual(rows(legacy.search(queries, 7).indices), rows(a.indices), `${metric}: hnswlib's format`);
      // Still usable for adding.
      loaded.add(queries);
      assert.equal(loaded.search(queries.narrow(0, 0, 1), 1).indices.item(), 1500);
    }
    const bytes = new HnswIndex(24, { m: 12 }).add(references).toBytes();
    assert.throws(() => HnswIndex.fromBytes(bytes, references, { m: 16 }), { name: 'InvalidHnswGraph', message: /has M 12 in its header where 16 was expected/ });
    assert.throws(() => HnswIndex.fromBytes(bytes, references.narrow(0, 0, 1499), { m: 12 }), /has cur_element_count 1500 in its header where 1499 was expected/);
    assert.throws(() => HnswIndex.fromBytes(bytes.subarray(0, 90), references, { m: 12 }), /is 90 bytes long, shorter than hnswlib's 96-byte header/);
    // Empty: hnswlib's -1 top level and no entry point.
    const empty = HnswIndex.fromBytes(new HnswIndex(24).toBytes(), references.narrow(0, 0, 0));
    assert.equal(empty.add(references.narrow(0, 0, 3)).size, 3);
  });
  assert.equal(liveTensors(), base);
});

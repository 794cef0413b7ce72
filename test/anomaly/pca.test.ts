// PCA against a hand-computed case and against the covariance it should diagonalise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pca } from '../../src/anomaly/pca.js';
import { liveTensors, manualSeed, randn, tensor, tidy } from '../../src/index.js';

test('pca of a hand-computed case: axes, coordinates, explained variance and sign convention', () => {
  const base = liveTensors();
  // Centred already; covariance diag(8/3, 2/3) → PC1 = x axis (80% of variance), PC2 = y axis.
  const { coords, explained } = tidy(() => {
    const x = tensor([[2, 0], [-2, 0], [0, 1], [0, -1]]);
    return pca(x.mul(-1).add(tensor([[5, 7]])), 2); // flipped and shifted: same picture
  });
  const c = coords.toArray() as number[][];
  const expected = [[-2, 0], [2, 0], [0, -1], [0, 1]]; // signs: largest loading of each axis positive
  c.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-6, `coords[${i}][${j}] = ${v}, expected ${expected[i][j]}`)));
  assert.ok(Math.abs(explained[0] - 0.8) < 1e-9 && Math.abs(explained[1] - 0.2) < 1e-9, String(explained));
  coords.dispose();
  assert.equal(liveTensors(), base);
});

test('pca coordinates are uncorrelated, with variances in decreasing order equal to the top eigenvalues', () => {
  const base = liveTensors();
  manualSeed(3);
  tidy(() => {
    const x = randn([200, 6]).matmul(randn([6, 6])).add(3);
    const { coords, explained } = pca(x, 3);
    assert.deepEqual(coords.shape, [200, 3]);
    const centred = coords.to('float64');
    const cov = centred.T.matmul(centred).div(199).toArray() as number[][];
    const xd = x.to('float64');
    const xc = xd.sub(xd.mean(0, true));
    const total = xc.square().sum().item() / 199;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) if (i !== j) assert.ok(Math.abs(cov[i][j]) < 1e-3 * cov[0][0], `cov[${i}][${j}] = ${cov[i][j]}`);
      assert.ok(Math.abs(cov[i][i] / total - explained[i]) < 1e-4, `variance ${i}`);
      if (i > 0) assert.ok(cov[i][i] <= cov[i - 1][i - 1]);
    }
    assert.ok(Math.abs(coords.mean(0).abs().max().item()) < 1e-3, 'centred');
  });
  assert.throws(() => tidy(() => pca(tensor([[1, 2]]), 2)), /at least 2 rows/);
  assert.throws(() => tidy(() => pca(randn([5, 2]), 3)), /Expected an integer between 1 and 2 .* but received 3/);
  assert.equal(liveTensors(), base);
});

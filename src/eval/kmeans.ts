// k-means (k-means++ seeding, Lloyd iterations) in libtorch, seeded for reproducible clusterings.
import type { Tensor } from '../tensor/tensor.js';
import { tensor, zeros, ones } from '../tensor/creation.js';
import { where } from '../tensor/combine.js';
import { tidy, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Device } from '../tensor/device.js';
import { checkInt, checkNumber } from '../tensor/checks.js';
import { checkEmbeddings, checkOptionKeys } from './inputs.js';
import { knnSearch } from './knn.js';
import { Random } from '../data/loading/random.js';

export interface KMeansOptions {
  /** Seed of the k-means++ draws. Default 0. */
  seed?: number;
  /** Lloyd iterations at most per run. Default 100. */
  maxIter?: number;
  /** Stop when the centres move less than tol × the mean feature variance (sklearn's rule). Default 1e-4. */
  tol?: number;
  /** Independent seedings; the run with the lowest inertia wins. Default 1. */
  nInit?: number;
}

export interface KMeansResult {
  /** [k,D] cluster centres (float64). */
  centroids: Tensor;
  /** [N] int64 cluster of each row. */
  assignments: Tensor;
  /** Sum of squared distances of rows to their centre. */
  inertia: number;
  /** Lloyd iterations of the winning run. */
  iterations: number;
}

const OPTION_KEYS = ['seed', 'maxIter', 'tol', 'nInit'] as const;

/** k-means++ (Arthur & Vassilvitskii 2007): each next centre drawn with probability ∝ D². */
function seedCentres(x: Tensor, k: number, random: () => number): Tensor {
  const n = x.shape[0];
  const chosen = [Math.floor(random() * n)];
  let minSq = x.sub(x.narrow(0, chosen[0], 1)).square().sum(1);
  for (let c = 1; c < k; c++) {
    const total = minSq.sum().item();
    let next: number;
    if (total <= 0) {
      // Every row coincides with a centre already: any unused row will do.
      next = Array.from({ length: n }, (_, i) => i).find((i) => !chosen.includes(i)) ?? 0;
    } else {
      const target = random() * total;
      next = Math.min(minSq.cumsum(0).lt(target).sum().item(), n - 1);
    }
    chosen.push(next);
    const distSq = x.sub(x.narrow(0, next, 1)).square().sum(1);
    const previous = minSq;
    minSq = minSq.minimum(distSq);
    dispose([previous, distSq]);
  }
  minSq.dispose();
  return x.indexSelect(0, tensor(chosen, { dtype: 'int64', device: x.device as Device }));
}

function assign(x: Tensor, centroids: Tensor): { assignments: Tensor; inertia: number } {
  const { distances, indices } = knnSearch(x, centroids, { k: 1, metric: 'euclidean' });
  const inertia = distances.square().sum().item();
  return { assignments: indices.squeeze(1), inertia };
}

function lloyd(x: Tensor, k: number, random: () => number, maxIter: number, threshold: number): KMeansResult {
  return tidy(() => {
    let centroids = seedCentres(x, k, random);
    let iterations = 0;
    const n = x.shape[0];
    const device = x.device as Device;
    for (; iterations < maxIter; iterations++) {
      const next = tidy(() => {
        const { assignments } = assign(x, centroids);
        const sums = zeros(centroids.shape, { dtype: 'float64', device }).indexAdd(0, assignments, x);
        const counts = zeros([k], { dtype: 'float64', device }).indexAdd(0, assignments, ones([n], { dtype: 'float64', device }));
        // An empty cluster keeps its centre rather than collapsing to 0/0.
        const empty = counts.eq(0).unsqueeze(1);
        return where(empty, centroids, sums.div(counts.clampMin(1).unsqueeze(1)));
      });
      const shift = tidy(() => next.sub(centroids).square().sum().item());
      centroids.dispose();
      centroids = next;
      if (shift <= threshold) { iterations++; break; }
    }
    const { assignments, inertia } = assign(x, centroids);
    return { centroids, assignments, inertia, iterations };
  });
}

/**
 * Clusters the rows of x [N,D] into k groups. Deterministic for a given seed: the k-means++
 * draws come from a seeded JS generator and every step after that is a deterministic tensor op.
 */
export function kmeans(x: Tensor, k: number, opts: KMeansOptions = {}): KMeansResult {
  checkOptionKeys(opts, OPTION_KEYS, 'kmeans');
  checkEmbeddings(x, 'x of kmeans');
  const n = x.shape[0];
  checkInt(k, `k of kmeans (at most the ${n} rows)`, 1, n);
  const maxIter = checkInt(opts.maxIter ?? 100, 'maxIter of kmeans', 1);
  const nInit = checkInt(opts.nInit ?? 1, 'nInit of kmeans', 1);
  const tol = checkNumber(opts.tol ?? 1e-4, 'tol of kmeans');
  const rng = new Random(checkInt(opts.seed ?? 0, 'seed of kmeans', 0, 2 ** 32 - 1));
  const random = (): number => rng.nextFloat();
  return noGrad(() => tidy(() => {
    const data = x.to('float64');
    const threshold = tol * data.var(0, { correction: 0 }).mean().item();
    let best: KMeansResult | null = null;
    for (let run = 0; run < nInit; run++) {
      const result = lloyd(data, k, random, maxIter, threshold);
      if (best === null || result.inertia < best.inertia) {
        if (best !== null) dispose([best.centroids, best.assignments]);
        best = result;
      } else {
        dispose([result.centroids, result.assignments]);
      }
    }
    return best!;
  }));
}

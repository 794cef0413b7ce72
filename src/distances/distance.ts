// Distance: how two embeddings compare, shared by the pair losses, their miners and k-NN search
// (pytorch-metric-learning's distances/base_distance.py). A distance is either a true distance
// (smaller = closer) or, with isInverted, a similarity (larger = closer); losses and miners written
// with margin() and isInverted work with any of them.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { normalize } from '../nn/functional.js';
import { checkEmbeddings } from '../tensor/tensor-checks.js';

export type DistanceName = 'cosine' | 'euclidean' | 'squaredEuclidean' | 'dot';
export const DISTANCE_NAMES: readonly DistanceName[] = ['cosine', 'euclidean', 'squaredEuclidean', 'dot'];

export interface DistanceOptions {
  /** L2-normalise each row before comparing (the default depends on the distance). */
  normalizeEmbeddings?: boolean;
}

/** The JSON form of a distance: createDistance(d.config()) rebuilds d. */
export interface DistanceSpec {
  name: DistanceName;
  normalizeEmbeddings?: boolean;
}

export abstract class Distance {
  abstract readonly name: DistanceName;
  /** True for similarities: larger values mean closer embeddings. */
  abstract readonly isInverted: boolean;
  readonly normalizeEmbeddings: boolean;

  constructor(normalizeEmbeddings: boolean) {
    this.normalizeEmbeddings = normalizeEmbeddings;
  }

  /** The rows as compared: L2-normalised when normalizeEmbeddings. Done once, then compute() per block. */
  prepare(x: Tensor): Tensor {
    return this.normalizeEmbeddings ? normalize(x, { dim: 1 }) : x;
  }

  /** [Q,R] values between rows of already prepared query [Q,D] and reference [R,D]. */
  abstract compute(query: Tensor, reference: Tensor): Tensor;

  /** Values between row i of prepared a and row i of prepared b, [N]. */
  protected abstract computeRows(a: Tensor, b: Tensor): Tensor;

  /** [Q,R] values between the rows of query and reference (default: query against itself). */
  matrix(query: Tensor, reference?: Tensor): Tensor {
    checkEmbeddings(query, 'query', undefined, `${this.name} distance`);
    if (reference !== undefined) checkEmbeddings(reference, 'reference', query.shape[1], `${this.name} distance`);
    return tidy(() => {
      const q = this.prepare(query);
      return this.compute(q, reference === undefined ? q : this.prepare(reference));
    });
  }

  /** Values between row i of a and row i of b, [N]. */
  rows(a: Tensor, b: Tensor): Tensor {
    checkEmbeddings(a, 'a', undefined, `${this.name} distance`);
    checkEmbeddings(b, 'b', a.shape[1], `${this.name} distance`);
    if (a.shape[0] !== b.shape[0]) throw new RangeError(`${this.name} distance: Expected b with ${a.shape[0]} rows (as a) but received ${b.shape[0]}`);
    return tidy(() => this.computeRows(this.prepare(a), this.prepare(b)));
  }

  /**
   * How far x is from y in the "farther" direction: x − y for a distance, y − x for a similarity.
   * So margin(d_ap, d_an) > 0 means the positive is farther than the negative, for any distance.
   */
  margin(x: Tensor | number, y: Tensor | number): Tensor {
    const [a, b] = this.isInverted ? [y, x] : [x, y];
    if (typeof a === 'number') {
      if (typeof b === 'number') throw new TypeError('margin: Expected at least one Tensor but received two numbers');
      return b.rsub(a);
    }
    return a.sub(b);
  }

  /** Values turned so that larger is always farther: the matrix itself, or its negation for a similarity. */
  farness(values: Tensor): Tensor {
    return this.isInverted ? values.neg() : values;
  }

  /** JSON settings; createDistance(config()) rebuilds this distance. */
  config(): DistanceSpec {
    return { name: this.name, normalizeEmbeddings: this.normalizeEmbeddings };
  }
}

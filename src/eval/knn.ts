// Exact k-nearest-neighbour search in libtorch, chunked so memory stays bounded for large sets.
import type { Tensor } from '../tensor/tensor.js';
import { arange } from '../tensor/creation.js';
import { cat } from '../tensor/combine.js';
import { tidy, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Device } from '../tensor/device.js';
import { checkInt, describe } from '../tensor/checks.js';
import { Distance } from '../distances/distance.js';
import { CosineSimilarity } from '../distances/cosine-similarity.js';
import { EuclideanDistance } from '../distances/euclidean-distance.js';
import { checkEmbeddings, checkOptionKeys } from './inputs.js';

export type KnnMetric = 'cosine' | 'euclidean';
export const KNN_METRICS: readonly KnnMetric[] = ['cosine', 'euclidean'];

export interface KnnOptions {
  /** Neighbours per query. */
  k: number;
  /**
   * 'cosine' gives 1 − cos(q, r); 'euclidean' gives ‖q − r‖₂ (rows not normalised). Default
   * 'cosine'. Or any Distance, the one the pair losses use: a similarity s is reported as 1 − s, so
   * that smaller is nearer for every distance.
   */
  metric?: KnnMetric | Distance;
  /**
   * Queries and references are the same rows: query i never returns reference i. Excludes by
   * index, not by distance, so exact duplicates of a point are still found (as sklearn does).
   */
  excludeSelf?: boolean;
  /** Upper bound on one chunk's distance matrix, in bytes. Default 64 MiB. */
  maxChunkBytes?: number;
  /** Rows of queries per chunk (default: from maxChunkBytes). */
  queryChunk?: number;
  /** Rows of references per chunk (default: from maxChunkBytes). */
  referenceChunk?: number;
  /**
   * The reference rows are already L2-normalised (for a distance that normalises, e.g. cosine):
   * skip normalising them again. For
   * a fixed, pre-normalised reference set searched in small batches, where that pass over every
   * reference row would cost more than the search itself.
   */
  unitReferences?: boolean;
}

export interface KnnResult {
  /** [Q,k] distances, nearest first. */
  distances: Tensor;
  /** [Q,k] int64 row indices into references. */
  indices: Tensor;
}

const OPTION_KEYS = ['k', 'metric', 'excludeSelf', 'maxChunkBytes', 'queryChunk', 'referenceChunk', 'unitReferences'] as const;
const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export function checkMetric(metric: unknown, what = 'metric'): KnnMetric {
  if (!KNN_METRICS.includes(metric as KnnMetric)) {
    const ErrorClass = typeof metric === 'string' ? RangeError : TypeError;
    throw new ErrorClass(`Expected 'cosine' or 'euclidean' for ${what} but received ${describe(metric)}`);
  }
  return metric as KnnMetric;
}

/** The Distance of a metric name (euclidean on the rows as given), or the Distance itself. */
export function knnDistance(metric: KnnMetric | Distance): Distance {
  if (metric instanceof Distance) return metric;
  return checkMetric(metric) === 'cosine' ? new CosineSimilarity() : new EuclideanDistance({ normalizeEmbeddings: false });
}

/** Chunk sizes whose distance matrix stays within the byte budget. */
function chunkSizes(q: number, r: number, bytesPerElement: number, opts: KnnOptions): [number, number] {
  const budget = checkInt(opts.maxChunkBytes ?? DEFAULT_CHUNK_BYTES, 'maxChunkBytes', bytesPerElement);
  const elements = Math.floor(budget / bytesPerElement);
  const referenceChunk = opts.referenceChunk === undefined
    ? Math.min(r, Math.max(1, Math.floor(elements / Math.min(q, 1024))))
    : checkInt(opts.referenceChunk, 'referenceChunk', 1);
  const queryChunk = opts.queryChunk === undefined
    ? Math.min(q, Math.max(1, Math.floor(elements / referenceChunk)))
    : checkInt(opts.queryChunk, 'queryChunk', 1);
  return [queryChunk, referenceChunk];
}

/**
 * Exact k nearest references of each query row. Similarities are computed by matmul in chunks
 * of queries × references; each chunk's top-k is merged into the running top-k, so peak memory
 * is about one chunk (maxChunkBytes, plus libtorch's top-k workspace) and [queryChunk, 2k + 1]
 * — never [Q,R].
 */
export function knnSearch(queries: Tensor, references: Tensor, opts: KnnOptions): KnnResult {
  checkOptionKeys(opts, OPTION_KEYS, 'knnSearch');
  checkEmbeddings(queries, 'queries');
  checkEmbeddings(references, 'references');
  const [nq, d] = queries.shape;
  const [nr, dr] = references.shape;
  if (d !== dr) throw new RangeError(`Expected references with ${d} features (as queries [${nq},${d}]) but received [${nr},${dr}]`);
  const distance = knnDistance(opts.metric ?? 'cosine');
  // ‖q − r‖² = ‖q‖² + (‖r‖² − 2 q·r): euclidean distances are ranked by the bracket, and only the
  // k survivors get ‖q‖² added (and a square root). Other distances rank their own values.
  const euclidean = distance instanceof EuclideanDistance ? distance : null;
  const excludeSelf = opts.excludeSelf ?? false;
  if (excludeSelf && nq !== nr) {
    throw new RangeError(`Expected queries and references of the same size with excludeSelf but received ${nq} and ${nr} rows`);
  }
  const available = nr - (excludeSelf ? 1 : 0);
  const k = checkInt(opts.k, `k (at most ${available} reference rows${excludeSelf ? ' besides the query itself' : ''})`, 1, Math.max(available, 0));
  const dtype = queries.dtype === 'float64' || references.dtype === 'float64' ? 'float64' : 'float32';
  const [queryChunk, referenceChunk] = chunkSizes(nq, nr, dtype === 'float64' ? 8 : 4, opts);
  const device = queries.device as Device;

  return noGrad(() => tidy(() => {
    // Normalised (when the distance does) and with squared norms (euclidean) once, not per chunk.
    const prepare = (x: Tensor): Tensor => distance.prepare(x.dtype === dtype ? x : x.to(dtype));
    const q = prepare(queries);
    const r = opts.unitReferences && distance.normalizeEmbeddings && references.dtype === dtype ? references : prepare(references);
    const qSq = euclidean ? q.square().sum(1, true) : null;
    const rSq = euclidean ? r.square().sum(1) : null;

    const distanceChunks: Tensor[] = [];
    const indexChunks: Tensor[] = [];
    for (let qs = 0; qs < nq; qs += queryChunk) {
      const qn = Math.min(queryChunk, nq - qs);
      let best: KnnResult | null = null;
      for (let rs = 0; rs < nr; rs += referenceChunk) {
        const rn = Math.min(referenceChunk, nr - rs);
        const part = tidy(() => {
          const qc = q.narrow(0, qs, qn);
          const rc = r.narrow(0, rs, rn);
          // The [qn, rn] block is the only large tensor: it is ranked in place, and only its top-k
          // columns are turned into distances.
          const block = euclidean ? qc.matmul(rc.T) : distance.compute(qc, rc);
          const overlapsSelf = excludeSelf && rs < qs + qn && qs < rs + rn;
          // One spare candidate so that dropping the query itself still leaves k.
          const take = Math.min(k + (overlapsSelf ? 1 : 0), rn);
          let distances: Tensor;
          let indices: Tensor;
          if (euclidean) {
            block.mul_(-2).add_(rSq!.narrow(0, rs, rn));
            const top = block.topk(take, 1, false);
            const squared = top.values.add(qSq!.narrow(0, qs, qn)).clampMin(0);
            distances = euclidean.squared ? squared : squared.sqrt();
            indices = top.indices;
          } else {
            const top = block.topk(take, 1, distance.isInverted);
            distances = distance.isInverted ? top.values.rsub(1) : top.values;
            indices = top.indices;
          }
          indices = indices.add(rs);
          if (overlapsSelf) {
            const self = indices.eq(arange(qs, qs + qn, 1, { device }).unsqueeze(1));
            distances = distances.maskedFill(self, Infinity);
          }
          return { distances, indices };
        });
        if (best === null) {
          best = part;
        } else {
          const previous: KnnResult = best;
          best = tidy(() => {
            const all = cat([previous.distances, part.distances], 1);
            const top = all.topk(Math.min(k, all.shape[1]), 1, false);
            return { distances: top.values, indices: cat([previous.indices, part.indices], 1).gather(1, top.indices) };
          });
          dispose([previous, part]);
        }
      }
      if (best!.distances.shape[1] > k) {
        // A lone chunk still holds the spare candidate (the query itself, at +Infinity).
        const spare: KnnResult = best!;
        best = tidy(() => {
          const top = spare.distances.topk(k, 1, false);
          return { distances: top.values, indices: spare.indices.gather(1, top.indices) };
        });
        dispose(spare);
      }
      distanceChunks.push(best!.distances);
      indexChunks.push(best!.indices);
    }
    const distances = distanceChunks.length === 1 ? distanceChunks[0] : cat(distanceChunks, 0);
    const indices = indexChunks.length === 1 ? indexChunks[0] : cat(indexChunks, 0);
    return { distances, indices };
  }));
}

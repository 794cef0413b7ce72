// Groups tensors into buckets that each travel as one flat tensor: a few large messages cost far
// less than one per parameter. ~25 MB is DistributedDataParallel's default bucket size.
import type { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';

export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

export function tensorBytes(t: Tensor): number {
  return t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
}

/** Tensors in order, cut into buckets of one dtype and at most bucketBytes (a larger tensor goes alone). */
export function planBuckets(tensors: Tensor[], bucketBytes = DEFAULT_BUCKET_BYTES): Tensor[][] {
  if (!(bucketBytes > 0)) throw new RangeError(`Expected a positive bucket size in bytes but received ${bucketBytes}`);
  const open = new Map<DType, { tensors: Tensor[]; bytes: number }>();
  const out: Tensor[][] = [];
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    const bucket = open.get(t.dtype);
    if (bucket && bucket.bytes + bytes <= bucketBytes) {
      bucket.tensors.push(t);
      bucket.bytes += bytes;
      continue;
    }
    const fresh = { tensors: [t], bytes };
    out.push(fresh.tensors);
    open.set(t.dtype, fresh);
  }
  return out;
}

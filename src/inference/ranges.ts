// Chunking of n items into batches, shared by every batch-wise pass over a dataset.

/** Yields [start, end) ranges over n items in chunks of size. */
export function* ranges(n: number, size: number): Generator<[number, number]> {
  for (let start = 0; start < n; start += size) yield [start, Math.min(n, start + size)];
}

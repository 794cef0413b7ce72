/** Data extent over finite values of several arrays; undefined when there are none. */
export function finiteExtent(arrays: ReadonlyArray<ArrayLike<number>>): [number, number] | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  return min <= max ? [min, max] : undefined;
}

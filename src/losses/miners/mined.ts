// The one output format of every miner and the one input of every pair loss: index tuples into
// the batch (pytorch-metric-learning's indices_tuple), as int64 tensors.
//   triplets: anchors[t], positives[t], negatives[t] — (a, p, n) with label a = label p ≠ label n;
//   pairs:    positiveAnchors[i], positives[i] — same-label pairs (a, p), a ≠ p;
//             negativeAnchors[j], negatives[j] — different-label pairs (a, n).
// toPairs and toTriplets convert either kind into the other, so any miner fits any loss: a
// contrastive loss given triplets uses their (a, p) and (a, n) pairs, each once; a triplet loss given
// pairs uses every (a, p, n) formed by a positive and a negative pair that share their anchor.
import { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { zeros } from '../../tensor/creation.js';
import type { Device } from '../../tensor/device.js';
import { pairMasks } from '../class-mask.js';

export interface MinedTriplets {
  kind: 'triplets';
  anchors: Tensor;
  positives: Tensor;
  negatives: Tensor;
}

export interface MinedPairs {
  kind: 'pairs';
  positiveAnchors: Tensor;
  positives: Tensor;
  negativeAnchors: Tensor;
  negatives: Tensor;
}

/** A miner's output: triplets or pairs of batch indices. */
export type Mined = MinedTriplets | MinedPairs;

/** Bool [n,n], true at (rows[i], cols[i]). */
function indexMask(rows: Tensor, cols: Tensor, n: number): Tensor {
  return tidy(() => zeros([n * n], { dtype: 'uint8', device: rows.device as Device })
    .scatter(0, rows.mul(n).add(cols), 1).reshape(n, n).gt(0));
}

/** Row and column indices of the true entries of a bool [n,n] mask, in row-major order. */
function maskIndices(mask: Tensor): [Tensor, Tensor] {
  return tidy(() => {
    const idx = mask.nonzero();
    return [idx.select(1, 0), idx.select(1, 1)];
  });
}

/** Masks [n,n] of the positive and negative pairs of mined tuples (each pair once). */
export function minedPairMasks(mined: Mined, n: number): { positive: Tensor; negative: Tensor } {
  return noGrad(() => tidy(() => {
    if (mined.kind === 'pairs') {
      return { positive: indexMask(mined.positiveAnchors, mined.positives, n), negative: indexMask(mined.negativeAnchors, mined.negatives, n) };
    }
    return { positive: indexMask(mined.anchors, mined.positives, n), negative: indexMask(mined.anchors, mined.negatives, n) };
  }));
}

/** Pairs from masks [n,n] of positive and negative pairs. */
export function pairsFromMasks(positive: Tensor, negative: Tensor): MinedPairs {
  return noGrad(() => tidy(() => {
    const [positiveAnchors, positives] = maskIndices(positive);
    const [negativeAnchors, negatives] = maskIndices(negative);
    return { kind: 'pairs' as const, positiveAnchors, positives, negativeAnchors, negatives };
  }));
}

/** Every positive and negative pair of a batch's labels [n]. */
export function allPairs(labels: Tensor): MinedPairs {
  return tidy(() => {
    const { positive, negative } = pairMasks(labels);
    return pairsFromMasks(positive, negative);
  });
}

/** Every triplet from masks [n,n] of positive and negative pairs: (a, p, n) for each shared anchor a. */
export function tripletsFromMasks(positive: Tensor, negative: Tensor): MinedTriplets {
  return noGrad(() => tidy(() => {
    const idx = positive.unsqueeze(2).logicalAnd(negative.unsqueeze(1)).nonzero();
    return { kind: 'triplets' as const, anchors: idx.select(1, 0), positives: idx.select(1, 1), negatives: idx.select(1, 2) };
  }));
}

/** Every triplet of a batch's labels [n] (batch-all). */
export function allTriplets(labels: Tensor): MinedTriplets {
  return tidy(() => {
    const { positive, negative } = pairMasks(labels);
    return tripletsFromMasks(positive, negative);
  });
}

/** The pairs of mined tuples: returned as they are, or the (a, p) and (a, n) pairs of triplets, each once. */
export function toPairs(mined: Mined, n: number): MinedPairs {
  if (mined.kind === 'pairs') return mined;
  return tidy(() => {
    const { positive, negative } = minedPairMasks(mined, n);
    return pairsFromMasks(positive, negative);
  });
}

/** The triplets of mined tuples: returned as they are, or every (a, p, n) joining a positive and a negative pair at one anchor. */
export function toTriplets(mined: Mined, n: number): MinedTriplets {
  if (mined.kind === 'triplets') return mined;
  return tidy(() => {
    const { positive, negative } = minedPairMasks(mined, n);
    return tripletsFromMasks(positive, negative);
  });
}

/** Checks that mined tuples are int64 index vectors of matching lengths within a batch of n. */
export function checkMined(mined: unknown, n: number, op: string): Mined {
  const m = mined as (Record<string, unknown> & { kind?: unknown }) | null;
  if (typeof m !== 'object' || m === null || (m.kind !== 'triplets' && m.kind !== 'pairs')) {
    throw new TypeError(`${op}: Expected mined tuples ({ kind: 'triplets' | 'pairs', … }) but received ${m === null ? 'null' : typeof m}`);
  }
  const groups = m.kind === 'triplets' ? [['anchors', 'positives', 'negatives']] : [['positiveAnchors', 'positives'], ['negativeAnchors', 'negatives']];
  for (const names of groups) {
    let length: number | undefined;
    for (const name of names) {
      const t = m[name];
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: Expected a Tensor for mined ${name} but received ${typeof t}`);
      if (t.dtype !== 'int64') throw new TypeError(`${op}: Expected int64 mined ${name} but received dtype ${t.dtype}`);
      if (t.ndim !== 1 || (length !== undefined && t.shape[0] !== length)) {
        throw new RangeError(`${op}: Expected mined ${names.join(', ')} of one length but received shapes ${names.map((k) => (m[k] instanceof Tensor ? `[${(m[k] as Tensor).shape.join(',')}]` : '?')).join(', ')}`);
      }
      length = t.shape[0];
      if (length > 0) {
        const [lo, hi] = [t.min(), t.max()];
        const [min, max] = [lo.item(), hi.item()];
        lo.dispose();
        hi.dispose();
        if (min < 0 || max >= n) throw new RangeError(`${op}: Expected mined ${name} between 0 and ${n - 1} but received values from ${min} to ${max}`);
      }
    }
  }
  return m as unknown as Mined;
}

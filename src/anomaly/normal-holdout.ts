// Held-out normal validation images: a seeded fraction of the normal training images, removed from
// training and fitting, whose scores give the z-normalisation statistics of fusion. Training-set
// normals would score lower than unseen ones (the network and the fitted scores have seen them),
// and test images must stay unseen, so the statistics come from images of neither kind.
import { subsetDataset, type ImageDataset } from '../data/dataset.js';
import { shuffledIndices } from '../data/loading/random.js';

export interface NormalHoldout {
  /** The training set without the held-out images (normal + reference). */
  train: ImageDataset;
  /** The held-out normal images. */
  validation: ImageDataset;
}

/** Holds out round(fraction × normal count) (at least 2) of the images with labels below normalClassCount. */
export function holdOutNormals(train: ImageDataset, normalClassCount: number, fraction: number, seed: number): NormalHoldout {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`Expected a fraction between 0 and 1 (exclusive) of normal images to hold out but received ${fraction}`);
  const normal: number[] = [];
  for (let i = 0; i < train.labels.length; i++) if (train.labels[i] < normalClassCount) normal.push(i);
  const count = Math.max(2, Math.round(fraction * normal.length));
  if (count >= normal.length) throw new RangeError(`Expected more than ${count} normal training images to hold ${count} out for validation but received ${normal.length}`);
  const order = shuffledIndices(normal.length, seed);
  const held = new Set(Array.from(order.subarray(0, count), (k) => normal[k]));
  const heldSorted = [...held].sort((a, b) => a - b);
  const kept = [...train.labels.keys()].filter((i) => !held.has(i));
  return { train: subsetDataset(train, kept), validation: subsetDataset(train, heldSorted) };
}

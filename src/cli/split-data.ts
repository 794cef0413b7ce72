// One split of the command's dataset, optionally a stratified subset.
import type { ImageDataset } from '../data/dataset.js';
import { loadCifar10 } from '../data/cifar10.js';
import { stratifiedSubset } from '../data/splits.js';
import { type ParsedOptions, UsageError } from './args.js';

export async function loadSplit(o: ParsedOptions, split: 'train' | 'test', max?: number): Promise<ImageDataset> {
  const data = await loadCifar10({ source: o.data as string | undefined, cacheDir: o['cache-dir'] as string | undefined, split, maxImagePixels: o['max-image-pixels'] as number | undefined });
  if (max && max > data.labels.length) throw new UsageError(`Expected --max at most the ${data.labels.length} images of the ${split} split but received ${max}`);
  return max ? stratifiedSubset(data, { size: max, seed: (o.seed as number | undefined) ?? 0 }) : data;
}

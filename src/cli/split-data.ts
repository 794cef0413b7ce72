// One split of the command's dataset, optionally a stratified subset.
import type { ImageDataset } from '../data/dataset.js';
import { loadCifar10 } from '../data/cifar10.js';
import { stratifiedSubset } from '../data/splits.js';
import type { ParsedOptions } from './args.js';

export async function loadSplit(o: ParsedOptions, split: 'train' | 'test', max?: number): Promise<ImageDataset> {
  const data = await loadCifar10({ source: o.data as string | undefined, cacheDir: o['cache-dir'] as string | undefined, split });
  return max ? stratifiedSubset(data, { size: max, seed: (o.seed as number | undefined) ?? 0 }) : data;
}

// One split of the command's dataset, optionally a stratified subset. With a checkpoint's stored
// input description, images are decoded as the model was trained on them unless flags say otherwise.
import type { AnyImageDataset } from '../data/file-image-dataset.js';
import type { DatasetInput } from '../data/load-dataset.js';
import { stratifiedSubset } from '../data/splits.js';
import type { ParsedOptions } from './args.js';
import { loadCommandData } from './data-options.js';

export async function loadSplit(o: ParsedOptions, split: 'train' | 'test', max?: number, stored?: DatasetInput): Promise<AnyImageDataset> {
  const loaded = await loadCommandData(o, stored);
  const data = split === 'train' ? loaded.train : loaded.test;
  return max ? stratifiedSubset(data, { size: Math.min(max, data.labels.length), seed: (o.seed as number | undefined) ?? 0 }) : data;
}

// One split of the command's dataset, optionally a stratified subset. With a checkpoint's stored
// input description, images are decoded as the model was trained on them unless flags say otherwise.
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import type { DatasetInput } from '../data/load-dataset.js';
import { stratifiedSubset } from '../data/splits.js';
import { type ParsedOptions, UsageError } from './args.js';
import { loadCommandData } from './data-options.js';

export async function loadSplit(o: ParsedOptions, split: 'train' | 'test', max?: number, stored?: DatasetInput): Promise<AnyImageDataset> {
  const loaded = await loadCommandData(o, stored);
  const data = split === 'train' ? loaded.train : loaded.test;
  if (max && max > data.labels.length) throw new UsageError(`Expected --max at most the ${data.labels.length} images of the ${split} split but received ${max}`);
  return max ? stratifiedSubset(data, { size: max, seed: (o.seed as number | undefined) ?? 0 }) : data;
}

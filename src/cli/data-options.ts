// The data flags of every command that reads images, and the one call that turns them into a
// dataset (src/data/load-dataset.ts does the work).
import { resolve } from 'node:path';
import { loadDataset, RESIZE_FITS, type DatasetInput, type LoadedDataset, type ResizeFit } from '../data/load-dataset.js';
import type { NormalizationName } from '../data/normalization.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';

export const DATA_OPTIONS: Record<string, OptionSpec> = {
  data: {
    type: 'string', env: 'DEEPMETRIC_CIFAR10',
    description: 'Dataset: a folder or .zip/.tar/.tar.gz of images as train/<class>/ + test/<class>/ (or one <class>/ tree, split by --val-fraction), ' +
      'an MNIST-format IDX folder, or a CIFAR-10 source (official URL, cifar-10-binary.tar.gz, cifar-10-batches-bin/). Default: CIFAR-10 (../shared/datasets/cifar10-jpeg.tar.gz when present, else the official URL)',
  },
  'cache-dir': { type: 'string', env: 'DEEPMETRIC_CACHE', description: 'Where downloads and decoded datasets are cached (default .cache/deepmetric)' },
  'image-size': { type: 'string', description: 'Resize every image to N×N or W×H pixels, e.g. 64 or 96x64 (needed when image sizes differ; default: keep sizes)' },
  // No `default` fields below: an absent flag must be told apart from its default so that eval and
  // embed can fall back to what the checkpoint was trained with. The defaults live in loadDataset.
  resize: { type: 'string', choices: RESIZE_FITS, description: "How --image-size keeps the aspect ratio: 'cover' scales to fill and centre-crops (default), 'contain' letterboxes in black, 'fill' stretches" },
  channels: { type: 'number', integer: true, min: 1, description: '3 = RGB (default; grayscale replicated, alpha dropped) or 1 = grayscale (the model then takes 1-channel input)' },
  'val-fraction': { type: 'number', description: 'Share of the images held out for validation when the dataset has no test/ split, seeded by --seed and stratified by class (default 0.2)' },
  stream: { type: 'boolean', default: false, description: 'Read batches from the decoded cache file instead of memory (automatic above 2 GiB of pixels or a quarter of RAM)' },
};

/** Data flags not given on the command line default to `stored` (e.g. what a checkpoint was trained on). */
export async function loadCommandData(o: ParsedOptions, stored?: DatasetInput, normalize?: NormalizationName): Promise<LoadedDataset> {
  const channels = o.channels as number | undefined;
  if (channels !== undefined && channels !== 1 && channels !== 3) throw new UsageError(`Expected 1 or 3 for --channels but received '${channels}'`);
  const fraction = o['val-fraction'] as number | undefined;
  if (fraction !== undefined && !(fraction > 0 && fraction < 1)) throw new UsageError(`Expected a number between 0 and 1 (exclusive) for --val-fraction but received '${fraction}'`);
  const storedSize = stored?.resize ? `${stored.resize.width}x${stored.resize.height}` : undefined;
  try {
    return await loadDataset({
      source: o.data as string | undefined,
      cacheDir: o['cache-dir'] as string | undefined,
      imageSize: (o['image-size'] as string | undefined) ?? storedSize,
      resize: ((o.resize as string | undefined) ?? stored?.resize?.fit) as ResizeFit | undefined,
      channels: (channels ?? stored?.channels) as 1 | 3 | undefined,
      valFraction: fraction ?? stored?.validation?.fraction,
      // A checkpoint's validation split is redrawn exactly, so evaluation never sees its training images.
      seed: stored?.validation?.seed ?? (o.seed as number | undefined),
      normalize,
      stream: o.stream ? true : 'auto',
    });
  } catch (error) {
    // Option mistakes read as usage errors; file problems keep their own message (they name the file).
    if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}

/** How results name the source. */
export function sourceLabel(o: ParsedOptions): string {
  return o.data ? resolve(o.data as string) : 'default';
}

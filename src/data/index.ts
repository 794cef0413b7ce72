// The public `data` namespace: loaders, dataset types, splits, transforms, samplers, the loader,
// archive reading and errors. Internals (cache layout and header codecs, byte queues, layout
// planning, decoders) stay importable by path inside src/ but are not part of the namespace.

// Datasets.
export { classCounts, concatDatasets, type ImageDataset, subsetDataset } from './dataset.js';
export { type AnyImageDataset, type FileImageDataset, materializeDataset } from './cache/file-image-dataset.js';
export { DataFileError } from './data-error.js';

// Loaders.
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from './load-dataset.js';
export type { NormalizationName } from './normalization.js';
export { type Cifar10Options, type Cifar10Splits, loadCifar10 } from './sources/cifar10.js';
export { CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD } from './sources/cifar10-constants.js';
export { type ImageFolderOptions, loadImageFolder } from './sources/image-folder.js';
export { loadMnist } from './sources/mnist-idx.js';
export { openDatasetCache } from './cache/streamed-cache.js';

// Splits, transforms, samplers, loader.
export { anomalySplit, excludeClasses, selectClasses, stratifiedSubset, trainValidationSplit } from './splits.js';
export { augmentBatch, type AugmentOptions, CIFAR10_AUGMENT } from './loading/transforms.js';
export { type BatchSampler, ShuffledBatchSampler } from './loading/batch-sampler.js';
export { MPerClassSampler } from './loading/m-per-class-sampler.js';
export type { Batch } from './loading/batch-assembly.js';
export { DataLoader, type DataLoaderOptions } from './loading/loader.js';

// Archives.
export type { ArchiveEntry } from './sources/zip-reader.js';
export { readArchiveFile } from './sources/archive-reader.js';
export { readTarFile } from './sources/tar-reader.js';

// Inference: a dataset or a uint8 batch → model inputs → embeddings, in eval mode — used by train/,
// anomaly/, search/, export/, serve/ and the CLI. Re-exports only. InputNormalization and the
// ImageNet statistics are defined in data/ (which chooses the scaling) and re-exported here.
export { datasetSlice, embedDataset } from './embed-dataset.js';
export { inEvalMode } from './eval-mode.js';
export { imagesToTensor, type UInt8Images } from './images-to-tensor.js';
export { ranges } from './ranges.js';
export { IMAGENET_MEAN, IMAGENET_STD, type InputNormalization } from '../data/normalization.js';

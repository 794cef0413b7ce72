// Pretrained weights: readers (PyTorch checkpoints, safetensors, Keras .h5) and loadWeights. Re-exports only.
export { loadWeights, weightsNormalization, type LoadWeightsOptions, type LoadedWeights, type WeightsFormat } from './load-weights.js';
export { readTorchCheckpoint, decodeTorchCheckpoint } from './torch-checkpoint.js';
export { readKerasH5, kerasMobileNetV2Mapping, KERAS_TOP_LAYERS, type KerasLayers, type KerasMapping } from './keras-h5.js';
export { unpickle, PyGlobal, type UnpickleHooks } from './pickle.js';
export { declaredHashPrefix, sha256File, verifyDeclaredHash } from './file-hash.js';
export { IMAGENET_MEAN, IMAGENET_STD } from '../data/normalization.js';
export { IMAGENET_NORMALIZATION, KERAS_TF_NORMALIZATION } from './normalization.js';
export { type RawTensor, toTensor } from './raw-tensor.js';

// The input scaling each family of published weights was trained with, recorded with the model
// when its weights are loaded, so that embedding and fine-tuning feed it what it expects.
import { IMAGENET_MEAN, IMAGENET_STD, type InputNormalization } from '../data/normalization.js';

export const IMAGENET_NORMALIZATION: InputNormalization = { kind: 'standard', mean: IMAGENET_MEAN, std: IMAGENET_STD };

/** keras.applications.mobilenet_v2.preprocess_input ('tf' mode): pixels / 127.5 − 1, i.e. (pixels / 255 − 0.5) / 0.5. */
export const KERAS_TF_NORMALIZATION: InputNormalization = { kind: 'standard', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

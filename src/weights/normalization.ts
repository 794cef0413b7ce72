// The input scaling each family of published weights was trained with, recorded with the model
// when its weights are loaded, so that embedding and fine-tuning feed it what it expects.
import type { InputNormalization } from '../train/batch-tensors.js';

/** torchvision's and timm's ImageNet statistics (of pixels / 255), RGB. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export const IMAGENET_NORMALIZATION: InputNormalization = { kind: 'standard', mean: IMAGENET_MEAN, std: IMAGENET_STD };

/** keras.applications.mobilenet_v2.preprocess_input ('tf' mode): pixels / 127.5 − 1, i.e. (pixels / 255 − 0.5) / 0.5. */
export const KERAS_TF_NORMALIZATION: InputNormalization = { kind: 'standard', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

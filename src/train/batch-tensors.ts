// Labels of a training or validation batch as the int64 tensor the losses take. (Images become
// model inputs in src/inference/images-to-tensor.ts.)
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';

export function labelsToTensor(labels: Int32Array, device: Device = 'cpu'): Tensor {
  return tidy(() => tensor(labels, { device }).to('int64'));
}

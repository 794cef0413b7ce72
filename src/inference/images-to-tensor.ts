// Turns a uint8 NHWC batch from the data loader into model inputs: float [N,C,H,W] in
// channels-last memory (the NHWC bytes viewed through a permute — no layout copy), scaled as the
// model's InputNormalization says.
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';
import type { InputNormalization } from '../data/normalization.js';

export interface UInt8Images {
  images: Uint8Array;
  size: number;
  height: number;
  width: number;
  channels: number;
}

export function imagesToTensor(batch: UInt8Images, norm: InputNormalization = { kind: 'unit' }, device: Device = 'cpu'): Tensor {
  const { size, height, width, channels } = batch;
  return tidy(() => {
    let x = tensor(batch.images, { shape: [size, height, width, channels], device }).permute(0, 3, 1, 2).to('float32').div(255);
    if (norm.kind === 'standard') {
      if (!norm.mean || !norm.std || norm.mean.length !== channels || norm.std.length !== channels) {
        throw new TypeError(`Expected ${channels} per-channel mean and std values for standard normalization but received ${JSON.stringify(norm)}`);
      }
      x = x.sub(tensor([...norm.mean], { device }).reshape(1, channels, 1, 1)).div(tensor([...norm.std], { device }).reshape(1, channels, 1, 1));
    }
    return x;
  });
}

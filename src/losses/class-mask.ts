// Boolean masks over a batch's labels, built with tensor ops on the labels' device.
import type { Tensor } from '../tensor/tensor.js';
import { arange } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import type { Device } from '../tensor/device.js';

/** [N,C] bool: true at (i, labels[i]). */
export function classMask(labels: Tensor, numClasses: number): Tensor {
  return tidy(() => arange(0, numClasses, 1, { device: labels.device as Device }).unsqueeze(0).eq(labels.unsqueeze(1)));
}

/** [N,N] bool masks: positives (same label, i ≠ j) and negatives (different label). */
export function pairMasks(labels: Tensor): { positive: Tensor; negative: Tensor } {
  return tidy(() => {
    const n = labels.shape[0];
    const same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
    const diagonal = arange(0, n, 1, { device: labels.device as Device });
    const eye = diagonal.unsqueeze(1).eq(diagonal.unsqueeze(0));
    return { positive: same.logicalAnd(eye.logicalNot()), negative: same.logicalNot() };
  });
}

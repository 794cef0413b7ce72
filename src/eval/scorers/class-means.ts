// Per-class mean embeddings, for scorers that model each normal class separately.
import type { Tensor } from '../../tensor/tensor.js';
import { tensor, zeros, ones } from '../../tensor/creation.js';
import { tidy } from '../../tensor/memory.js';
import type { Device } from '../../tensor/device.js';
import { type NumericInput, checkSameLength, readLabels } from '../inputs.js';

export interface ClassMeans {
  /** [C,D] mean of each class, in the order of classes. */
  means: Tensor;
  /** [N] int64 row of means for each training row. */
  rowClass: Tensor;
  /** Label of each row of means. */
  classes: number[];
}

export function classMeans(x: Tensor, labels: NumericInput): ClassMeans {
  const y = readLabels(labels);
  checkSameLength(x.shape[0], y.length, 'labels', 'training embedding');
  const classes = [...new Set(y)].sort((a, b) => a - b);
  const slot = new Map(classes.map((c, i) => [c, i]));
  return tidy(() => {
    const device = x.device as Device;
    const rowClass = tensor(y.map((c) => slot.get(c)!), { dtype: 'int64', device });
    const sums = zeros([classes.length, x.shape[1]], { dtype: x.dtype, device }).indexAdd(0, rowClass, x);
    const counts = zeros([classes.length], { dtype: x.dtype, device }).indexAdd(0, rowClass, ones([y.length], { dtype: x.dtype, device }));
    return { means: sums.div(counts.unsqueeze(1)), rowClass, classes };
  });
}

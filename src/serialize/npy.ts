// NumPy .npy files (format version 1.0), readable by numpy.load.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { native } from '../binding/native.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

const DESCR: Record<DType, string> = { float32: '<f4', float64: '<f8', float16: '<f2', int32: '<i4', int64: '<i8', uint8: '|u1', bool: '|b1' };

export function encodeNpy(t: Tensor): Buffer {
  const shape = t.shape;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = `${header.padEnd(total - 10 - 1, ' ')}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(native.toData(t.handle))]);
}

export function saveNpy(path: string, t: Tensor): void {
  writeFileAtomicSync(path, encodeNpy(t));
}

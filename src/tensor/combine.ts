// Functions over several tensors: joining, selection by condition.
import { native } from '../binding/native.js';
import { checkInt } from './checks.js';
import { Tensor } from './tensor.js';

function checkList(tensors: Tensor[], op: string): void {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TypeError(`${op}: Expected a non-empty array of tensors but received ${Array.isArray(tensors) ? '[]' : typeof tensors}`);
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  checkList(tensors, 'cat');
  return new Tensor(native.cat(tensors.map((t) => t.handle), checkInt(dim, 'dim of cat')));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  checkList(tensors, 'stack');
  return new Tensor(native.stack(tensors.map((t) => t.handle), checkInt(dim, 'dim of stack')));
}
/** Elements of a where cond is true, of b elsewhere (broadcasting). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.where(cond.handle, a.handle, b.handle));
}

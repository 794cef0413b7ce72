// An optimizer's state as plain named tensors in a safetensors buffer: per parameter its moments
// ('<index>.exp_avg', '<index>.exp_avg_sq', '<index>.max_exp_avg_sq' for Adam/AdamW,
// '<index>.momentum_buffer' for SGD) and, in the metadata, its step count. libtorch's own archive
// format is not used: loading one compiles the TorchScript inside it, so a crafted checkpoint could
// crash the process or worse. The decoder is the checked safetensors reader; libtorch then checks
// every tensor against its parameter before the state is replaced.
import type { NativeOptimizerState } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors } from '../serialize/safetensors.js';

const FORMAT = 'deepmetric-optimizer/1';
const NAME = /^(\d{1,9})\.(exp_avg|exp_avg_sq|max_exp_avg_sq|momentum_buffer)$/;

export function encodeOptimizerState(kind: string, entries: NativeOptimizerState[]): Buffer {
  const tensors: Record<string, Tensor> = {};
  const steps: Record<string, number> = {};
  for (const e of entries) {
    steps[e.index] = e.step;
    for (const [name, handle] of Object.entries(e.tensors)) tensors[`${e.index}.${name}`] = new Tensor(handle);
  }
  try {
    return encodeSafetensors(tensors, { format: FORMAT, kind, steps: JSON.stringify(steps) });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** The entries to hand to libtorch, and a dispose() for the tensors they hold. */
export function decodeOptimizerState(kind: string, state: Buffer): { entries: NativeOptimizerState[]; dispose: () => void } {
  const bad = (why: string): Error => new Error(`optimizer state: ${why}`);
  if (state.length >= 2 && state[0] === 0x50 && state[1] === 0x4b) {
    throw bad('it is in libtorch\'s archive format, written by an earlier deepmetric, which is no longer read (loading one runs the TorchScript inside it); ' +
      'the weights still load for eval and export, but this run cannot be resumed: start it again');
  }
  const { tensors, metadata } = decodeSafetensors(state, 'optimizer state');
  const owned = Object.values(tensors);
  const dispose = (): void => {
    for (const t of owned) t.dispose();
  };
  try {
    if (metadata.format !== FORMAT) throw bad(`expected format '${FORMAT}' but received ${JSON.stringify(metadata.format ?? null)}`);
    if (metadata.kind !== kind) throw bad(`it is the state of a${/^[aeiou]/.test(metadata.kind ?? '') ? 'n' : ''} ${metadata.kind} optimizer, not ${kind}`);
    let steps: unknown;
    try {
      steps = JSON.parse(metadata.steps ?? '{}');
    } catch {
      throw bad('its step counts are not JSON');
    }
    if (steps === null || typeof steps !== 'object' || Array.isArray(steps)) throw bad('its step counts are not an object');
    const byIndex = new Map<number, NativeOptimizerState>();
    for (const [key, step] of Object.entries(steps as Record<string, unknown>)) {
      if (!/^\d{1,9}$/.test(key) || !Number.isSafeInteger(step) || (step as number) < 0) throw bad(`parameter ${JSON.stringify(key)} has step ${JSON.stringify(step)}`);
      byIndex.set(Number(key), { index: Number(key), step: step as number, tensors: {} });
    }
    for (const [name, t] of Object.entries(tensors)) {
      const m = NAME.exec(name);
      const entry = m ? byIndex.get(Number(m[1])) : undefined;
      if (!m || !entry) throw bad(`it holds an unexpected tensor '${name}'`);
      entry.tensors[m[2]] = t.handle;
    }
    return { entries: [...byIndex.values()], dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

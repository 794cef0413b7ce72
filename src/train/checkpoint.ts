// Checkpoints: modules, optimizer state, epoch, RNG state, metrics history and config in one
// safetensors file (with a data checksum), written atomically (temporary file, then rename).
import { existsSync } from 'node:fs';
import { native } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import { dispose } from '../tensor/memory.js';
import { getRngState, setRngState } from '../tensor/creation.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { loadSafetensors, saveSafetensors } from '../serialize/safetensors.js';

const FORMAT = 'deepmetric-checkpoint/1';
const OPTIMIZER_KEY = '__optimizer__';
const RNG_KEY = '__rng__';

export interface CheckpointContent<H = unknown, C = unknown> {
  /** Modules by name (e.g. { model, head }); their tensors are stored as '<name>.<param>'. */
  modules: Record<string, Module>;
  optimizer?: Optimizer;
  /** Epochs completed. */
  epoch: number;
  history?: H;
  config?: C;
  /** Anything else JSON-able (best accuracy, data split…). */
  extra?: Record<string, unknown>;
}

export function saveCheckpoint(path: string, c: CheckpointContent): void {
  const tensors: Record<string, Tensor> = {};
  const owned: Tensor[] = [];
  for (const [name, m] of Object.entries(c.modules)) {
    for (const [k, t] of Object.entries(m.stateDict())) tensors[`${name}.${k}`] = t;
  }
  try {
    if (c.optimizer) {
      const state = c.optimizer.stateDict();
      const t = new Tensor(native.fromData(new Uint8Array(state.buffer, state.byteOffset, state.length), 'uint8', [state.length]));
      owned.push(t);
      tensors[OPTIMIZER_KEY] = t;
    }
    const rng = getRngState();
    owned.push(rng);
    tensors[RNG_KEY] = rng;
    saveSafetensors(path, tensors, {
      format: FORMAT,
      epoch: String(c.epoch),
      history: JSON.stringify(c.history ?? null),
      config: JSON.stringify(c.config ?? null),
      extra: JSON.stringify(c.extra ?? {}),
      optimizer: c.optimizer?.kind ?? '',
    }, { checksum: true });
  } finally {
    dispose(owned);
  }
}

export interface LoadedCheckpoint<H = unknown, C = unknown> {
  epoch: number;
  history: H;
  config: C;
  extra: Record<string, unknown>;
  optimizerKind: string;
  /** Restores modules (strict), optimizer state and RNG state; then frees the loaded tensors. */
  restore(target: { modules: Record<string, Module>; optimizer?: Optimizer; rng?: boolean }): void;
  /** Frees the loaded tensors without restoring. */
  dispose(): void;
}

/** Reads and validates a checkpoint; a corrupted or truncated file is a clear error. */
export function loadCheckpoint<H = unknown, C = unknown>(path: string): LoadedCheckpoint<H, C> {
  if (!existsSync(path)) throw new Error(`checkpoint: ${path} does not exist`);
  const { tensors, metadata } = loadSafetensors(path);
  const fail = (why: string): never => {
    dispose(tensors);
    throw new Error(`checkpoint: ${path} ${why}`);
  };
  if (metadata.format !== FORMAT) fail(`is not a deepmetric checkpoint (format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  let parsed: { history: H; config: C; extra: Record<string, unknown> };
  try {
    parsed = { history: JSON.parse(metadata.history), config: JSON.parse(metadata.config), extra: JSON.parse(metadata.extra ?? '{}') };
  } catch (e) {
    return fail(`has unreadable metadata: ${(e as Error).message}`);
  }
  return {
    epoch: Number(metadata.epoch),
    ...parsed,
    optimizerKind: metadata.optimizer ?? '',
    restore(target) {
      try {
        for (const [name, m] of Object.entries(target.modules)) {
          const prefix = `${name}.`;
          const own = Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
          if (Object.keys(own).length === 0) throw new Error(`checkpoint: ${path} holds no module named '${name}'`);
          m.loadStateDict(own);
        }
        if (target.optimizer) {
          const t = tensors[OPTIMIZER_KEY];
          if (!t) throw new Error(`checkpoint: ${path} holds no optimizer state`);
          if (metadata.optimizer !== target.optimizer.kind) throw new Error(`checkpoint: ${path} holds ${metadata.optimizer} state, not ${target.optimizer.kind}`);
          const bytes = t.dataSync() as Uint8Array;
          target.optimizer.loadStateDict(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
        }
        if (target.rng ?? true) setRngState(tensors[RNG_KEY]);
      } finally {
        dispose(tensors);
      }
    },
    dispose() {
      dispose(tensors);
    },
  };
}

// Checkpoints: modules, optimizer state, epoch, RNG state, metrics history and config in one
// safetensors file with a checksum over header and data, written atomically (temporary file, then
// rename). Weights holding Inf or NaN are refused: a diverged model is never saved as a good one.
import { existsSync } from 'node:fs';
import { native } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import { dispose } from '../tensor/memory.js';
import { getRngState, setRngState } from '../tensor/creation.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { FILE_CHECKSUM_KEY, loadSafetensors, saveSafetensors } from '../serialize/safetensors.js';
import { nonFiniteTensor } from './finite-check.js';
import { jsonText } from '../util/json-text.js';

/** /2: the checksum covers the header (epoch, history, config…) as well as the tensors. */
const FORMAT = 'deepmetric-checkpoint/2';
/** Read for compatibility: its checksum covers the tensors only. */
const FORMAT_DATA_CHECKSUM = 'deepmetric-checkpoint/1';
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
  const bad = nonFiniteTensor(c.modules);
  if (bad) throw new Error(`checkpoint: not writing ${path}: ${bad} holds Inf or NaN (the training diverged)`);
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
      history: jsonText(c.history ?? null, 'the checkpoint\'s history'),
      config: jsonText(c.config ?? null, 'the checkpoint\'s config'),
      extra: jsonText(c.extra ?? {}, 'the checkpoint\'s extra'),
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
  const { tensors, metadata } = loadSafetensors(path, { what: 'checkpoint' });
  const fail = (why: string): never => {
    dispose(tensors);
    throw new Error(`checkpoint: ${path} ${why}`);
  };
  if (metadata.format !== FORMAT && metadata.format !== FORMAT_DATA_CHECKSUM) fail(`is not a deepmetric checkpoint (format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  if (metadata.format === FORMAT && metadata[FILE_CHECKSUM_KEY] === undefined) fail('has no checksum; it is damaged or was not written by deepmetric');
  let parsed: { history: H; config: C; extra: Record<string, unknown> };
  try {
    parsed = { history: JSON.parse(metadata.history), config: JSON.parse(metadata.config), extra: JSON.parse(metadata.extra ?? '{}') };
  } catch (e) {
    return fail(`has unreadable metadata: ${(e as Error).message}`);
  }
  if (parsed.extra === null || typeof parsed.extra !== 'object' || Array.isArray(parsed.extra)) fail('has unreadable metadata: extra is not an object');
  const epoch = Number(metadata.epoch);
  if (!Number.isSafeInteger(epoch) || epoch < 0) fail(`has unreadable metadata: epoch ${JSON.stringify(metadata.epoch)} is not a count of epochs`);
  if (!(tensors[RNG_KEY] instanceof Tensor)) fail('holds no random-number-generator state; it is damaged or was not written by deepmetric');
  return {
    epoch,
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
      } catch (e) {
        // Errors from deeper down (a damaged optimizer or RNG state) name the file they came from.
        if ((e as Error).message.startsWith(`checkpoint: ${path}`)) throw e;
        throw new Error(`checkpoint: ${path} cannot be restored: ${(e as Error).message}`, { cause: e });
      } finally {
        dispose(tensors);
      }
    },
    dispose() {
      dispose(tensors);
    },
  };
}

// Rebuilds a trained embedding network and head from a checkpoint written by the trainer.
import { loadCheckpoint } from './checkpoint.js';
import { createEmbeddingNet, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { createHead } from '../losses/registry.js';
import type { Head } from '../losses/head.js';
import { fuseConvBatchNorm } from '../nn/fuse.js';
import type { TrainConfig, EpochRecord } from './trainer.js';

export interface TrainedModel {
  model: EmbeddingNet;
  head: Head;
  /** How to rebuild the model (createEmbeddingNet(backbone)). */
  backbone: BackboneSpec;
  config: TrainConfig;
  classes: string[];
  epoch: number;
  history: EpochRecord[];
  dispose(): void;
}

/** With fuse, BatchNorm is folded into the convolutions: faster, inference only. */
export function loadTrainedModel(path: string, opts: { fuse?: boolean } = {}): TrainedModel {
  const ckpt = loadCheckpoint<EpochRecord[], TrainConfig>(path);
  const extra = ckpt.extra as { model?: unknown; head?: unknown; classes?: unknown };
  const isSpec = (v: unknown): v is { name: string } => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string';
  if (!extra.model || !extra.head) {
    ckpt.dispose();
    throw new Error(`checkpoint: ${path} does not say how to rebuild its model (no model/head spec); was it written by the trainer?`);
  }
  const classes = extra.classes ?? [];
  if (!isSpec(extra.model) || !isSpec(extra.head) || !Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) {
    ckpt.dispose();
    throw new Error(`checkpoint: ${path} has an unreadable model, head or class list in its metadata; it is damaged or was not written by deepmetric`);
  }
  let model: EmbeddingNet | undefined;
  let head: Head | undefined;
  try {
    model = createEmbeddingNet(extra.model as BackboneSpec);
    const { name, ...headCfg } = extra.head as { name: string; embeddingDim: number; numClasses: number };
    head = createHead(name, headCfg);
    ckpt.restore({ modules: { model, head }, rng: false });
  } catch (e) {
    model?.dispose();
    head?.dispose();
    ckpt.dispose();
    const message = (e as Error).message;
    throw new Error(message.startsWith('checkpoint:') ? message : `checkpoint: ${path} cannot be rebuilt: ${message}`, { cause: e });
  }
  model.eval();
  head.eval();
  if (opts.fuse) fuseConvBatchNorm(model.toChannelsLast());
  const m = model;
  const h = head;
  return {
    model: m, head: h, backbone: extra.model as BackboneSpec, config: ckpt.config, classes: classes as string[], epoch: ckpt.epoch, history: ckpt.history ?? [],
    dispose() { m.dispose(); h.dispose(); },
  };
}

/**
 * Refuses to evaluate a model on a dataset whose classes are not the ones it was trained on: the
 * labels would mean different things. `data` names the dataset in the message.
 */
export function checkSameClasses(trained: Pick<TrainedModel, 'classes'>, checkpoint: string, dataClasses: readonly string[], data: string): void {
  const mine = trained.classes;
  if (mine.length === 0) return; // checkpoints from before class lists were stored
  const same = mine.length === dataClasses.length && mine.every((c, i) => c === dataClasses[i]);
  if (same) return;
  const missing = dataClasses.filter((c) => !mine.includes(c));
  const extra = mine.filter((c) => !dataClasses.includes(c));
  const detail = missing.length || extra.length
    ? `${missing.length ? ` the data has ${missing.map((c) => `'${c}'`).join(', ')}, unknown to the model;` : ''}${extra.length ? ` the model has ${extra.map((c) => `'${c}'`).join(', ')}, absent from the data;` : ''}`
    : ' the same names in a different order;';
  throw new Error(`checkpoint: ${checkpoint} was trained on ${mine.length} classes (${mine.join(', ')}) but ${data} has ${dataClasses.length} (${dataClasses.join(', ')}):${detail} ` +
    'evaluate it on data with the classes it was trained on');
}

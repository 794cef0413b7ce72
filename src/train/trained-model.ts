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
  const extra = ckpt.extra as { model?: BackboneSpec | null; head?: Record<string, unknown>; classes?: string[] };
  if (!extra.model || !extra.head) {
    ckpt.dispose();
    throw new Error(`checkpoint: ${path} does not say how to rebuild its model (no model/head spec); was it written by the trainer?`);
  }
  const model = createEmbeddingNet(extra.model);
  const { name, ...headCfg } = extra.head as { name: string; embeddingDim: number; numClasses: number };
  const head = createHead(name, headCfg);
  try {
    ckpt.restore({ modules: { model, head }, rng: false });
  } catch (e) {
    model.dispose();
    head.dispose();
    throw e;
  }
  model.eval();
  head.eval();
  if (opts.fuse) fuseConvBatchNorm(model.toChannelsLast());
  return {
    model, head, backbone: extra.model, config: ckpt.config, classes: extra.classes ?? [], epoch: ckpt.epoch, history: ckpt.history ?? [],
    dispose() { model.dispose(); head.dispose(); },
  };
}

// `deepmetric embed`: embeddings and labels of a dataset split, for other tools — safetensors
// (readable by Python's safetensors) or NumPy .npy files.
import { dirname, resolve } from 'node:path';
import { loadTrainedModel } from '../train/trained-model.js';
import { embedDataset, type InputNormalization } from '../inference/index.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { saveSafetensors } from '../serialize/safetensors.js';
import { saveNpy } from '../serialize/npy.js';
import { type CommandSpec, parseOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';
import { createEmbeddingNet } from '../models/registry.js';
import { loadWeights } from '../weights/load-weights.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import { fuseConvBatchNorm } from '../nn/fuse.js';
import { loadSplit } from './split-data.js';
import { DATA_OPTIONS } from './data-options.js';
import { parseImageSize, type DatasetInput } from '../data/load-dataset.js';
import { prepareOutputFolder } from '../util/output-lock.js';

export const embedSpec: CommandSpec = {
  name: 'embed',
  summary: 'Write the embeddings and labels of a dataset split to a file',
  options: {
    checkpoint: { type: 'string', description: 'A checkpoint written by train/compare (or, instead, --weights)' },
    weights: { type: 'string', description: 'Instead of --checkpoint: embed with pretrained weights as they are (with --backbone, and --alpha for Keras files); see docs/pretrained.md' },
    backbone: TRAINING_OPTIONS.backbone,
    alpha: TRAINING_OPTIONS.alpha,
    split: { type: 'string', default: 'test', choices: ['train', 'test'], description: "Which split to embed ('test' = the held-out images: test/, t10k, or the --val-fraction split)" },
    max: { type: 'number', integer: true, min: 1, description: 'Embed a stratified subset of N images' },
    out: { type: 'string', default: 'embeddings.safetensors', description: "Output file: .safetensors (tensors 'embeddings' and 'labels', class names in metadata) or .npy (then <name>.labels.npy too)" },
    ...DATA_OPTIONS,
    seed: TRAINING_OPTIONS.seed,
    threads: TRAINING_OPTIONS.threads,
  },
  examples: [
    'deepmetric embed --checkpoint runs/compare/checkpoints/l2softmax/best.ckpt --split test --out test.safetensors',
    'deepmetric embed --backbone torchvision-resnet18 --weights resnet18-f37072fd.pth --split test --out resnet18-test.safetensors',
  ],
};

export async function embedCommand(argv: string[]): Promise<void> {
  const o = parseOptions(embedSpec, argv);
  if (!o.checkpoint && !o.weights) throw new UsageError('Expected --checkpoint PATH or --weights FILE but received neither');
  if (o.checkpoint && o.weights) throw new UsageError('Expected one of --checkpoint and --weights but received both');
  const out = resolve(o.out as string);
  if (!/\.(safetensors|npy)$/.test(out)) throw new UsageError(`Expected --out ending in .safetensors or .npy but received '${o.out}'`);
  prepareOutputFolder(dirname(out), '--out');
  applyRuntime({ ...o, device: 'cpu' });
  const trained = o.checkpoint ? loadTrainedModel(resolve(o.checkpoint as string), { fuse: true }) : await pretrainedModel(o.backbone as string, o.alpha as number, resolve(o.weights as string), o['image-size'] ? parseImageSize(o['image-size'] as string).height : undefined);
  try {
    const data = await loadSplit(o, o.split as 'train' | 'test', o.max as number | undefined, trained.config.input);
    tidy(() => {
      const embeddings = embedDataset(trained.model, data, { norm: trained.config.normalization });
      const labels = tensor(data.labels);
      if (out.endsWith('.npy')) {
        saveNpy(out, embeddings);
        saveNpy(out.replace(/\.npy$/, '.labels.npy'), labels);
      } else {
        saveSafetensors(out, { embeddings, labels }, { classes: JSON.stringify(data.classes), ...(o.checkpoint ? { checkpoint: resolve(o.checkpoint as string) } : { weights: resolve(o.weights as string), backbone: o.backbone as string }), split: o.split as string });
      }
      process.stdout.write(`Wrote ${embeddings.shape[0]} embeddings of size ${embeddings.shape[1]} to ${out}\n`);
    });
  } finally {
    trained.dispose();
  }
}

/** A backbone with pretrained weights, pooled, in eval mode, with the input scaling its weights expect. */
async function pretrainedModel(backbone: string, alpha: number, weights: string, inputSize = 224): Promise<{ model: EmbeddingNet; config: { normalization: InputNormalization; input?: DatasetInput }; dispose(): void }> {
  const model = createEmbeddingNet({ name: backbone, alpha, inputSize });
  try {
    const r = await loadWeights(model, weights);
    process.stderr.write(`embed: ${backbone} with ${r.loaded} tensors from ${weights}\n`);
    fuseConvBatchNorm(model.toChannelsLast());
    return { model, config: { normalization: r.normalization }, dispose: () => model.dispose() };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// `deepmetric eval`: a trained checkpoint on a dataset split — accuracy, per-class accuracy,
// confusion matrix and retrieval metrics, as a table and as JSON.
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { checkSameClasses, loadTrainedModel } from '../train/trained-model.js';
import { embedDataset } from '../inference/index.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { accuracy, confusionMatrix, perClassAccuracy } from '../eval/classification.js';
import { RetrievalCalculator } from '../eval/retrieval-calculator.js';
import { formatTable } from '../util/table.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { type CommandSpec, parseOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';
import { loadSplit } from './split-data.js';
import { DATA_OPTIONS } from './data-options.js';
import { runInfo } from './run-info.js';

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a checkpoint: accuracy, per-class accuracy, confusion matrix, retrieval metrics',
  options: {
    checkpoint: { type: 'string', description: 'A best.ckpt or last.ckpt written by train/compare (required)' },
    split: { type: 'string', default: 'test', choices: ['train', 'test'], description: "Which split to evaluate ('test' = the held-out images: test/, t10k, or the --val-fraction split the model was trained beside)" },
    max: { type: 'number', integer: true, min: 10, description: 'Evaluate a stratified subset of N images' },
    out: { type: 'string', description: 'Also write eval.json into this folder' },
    ...DATA_OPTIONS,
    seed: TRAINING_OPTIONS.seed,
    threads: TRAINING_OPTIONS.threads,
    device: TRAINING_OPTIONS.device,
  },
  examples: ['deepmetric eval --checkpoint runs/compare/checkpoints/l2softmax/best.ckpt'],
};

export async function evalCommand(argv: string[]): Promise<Record<string, unknown>> {
  const o = parseOptions(evalSpec, argv);
  if (!o.checkpoint) throw new UsageError('Expected --checkpoint PATH but received none');
  applyRuntime(o);
  const trained = loadTrainedModel(resolve(o.checkpoint as string), { fuse: true });
  try {
    const data = await loadSplit(o, o.split as 'train' | 'test', o.max as number | undefined, trained.config.input);
    // Class predictions mean nothing on other classes; retrieval metrics of an embedding-only head
    // are how metric learning is evaluated on unseen classes, so those stay allowed.
    if (trained.head.classifies) checkSameClasses(trained, resolve(o.checkpoint as string), data.classes, `the ${o.split} split of ${o.data ?? 'the default data'}`);
    const n = data.labels.length;
    const result = noGrad(() => tidy(() => {
      const emb = embedDataset(trained.model, data, { norm: trained.config.normalization });
      const retrieval = new RetrievalCalculator().compute({ query: emb, queryLabels: data.labels });
      if (!trained.head.classifies) return { retrieval };
      const pred = trained.head.predict(emb).toNumbers();
      return {
        accuracy: accuracy(pred, data.labels),
        per_class_accuracy: Object.fromEntries(perClassAccuracy(pred, data.labels, data.classes.length).map((a, i) => [data.classes[i], a])),
        confusion_matrix: confusionMatrix(pred, data.labels, data.classes.length),
        retrieval,
      };
    }));
    const report = { ...runInfo(['eval', ...argv], o), checkpoint: resolve(o.checkpoint as string), split: o.split, images: n, head: trained.head.name, ...result };
    const rows: Record<string, unknown>[] = [];
    if ('accuracy' in result) rows.push({ metric: 'accuracy', value: result.accuracy });
    for (const [k, v] of Object.entries(result.retrieval)) rows.push({ metric: k, value: v });
    process.stdout.write(`${formatTable(rows, { digits: 4 })}\n`);
    if ('per_class_accuracy' in result) {
      process.stdout.write(`\n${formatTable(Object.entries(result.per_class_accuracy!).map(([c, a]) => ({ class: c, accuracy: a })), { digits: 4 })}\n`);
    }
    if (o.out) {
      mkdirSync(resolve(o.out as string), { recursive: true });
      await writeFileAtomic(join(resolve(o.out as string), 'eval.json'), `${JSON.stringify(report, null, 2)}\n`);
    }
    return report;
  } finally {
    trained.dispose();
  }
}

// `deepmetric compare` and `deepmetric train`: the seed experiment — one backbone trained with each head (train: one), validation
// accuracy curves on one chart, and each head's best validation accuracy.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { train } from '../train/trainer.js';
import { lineChart } from '../report/line-chart.js';
import { writeChart } from '../report/png.js';
import { HtmlReport } from '../report/html-report.js';
import { formatTable } from '../util/table.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { type CommandSpec, parseOptions, type ParsedOptions } from './args.js';
import { TRAINING_OPTIONS, applyRuntime, buildModel, checkHeadNames, loadPretrainedWeights, loadExperimentData, modelSpec, parseHeadOptions, trainConfig, checkBatchFits } from './experiment.js';
import { runInfo, type RunInfo } from './run-info.js';
import type { HeadRecord } from '../experiment/run-info.js';
import { DISTRIBUTED_OPTIONS, joinIfWorker, launchIfRequested, launcherOutcome } from './distributed-options.js';
import type { DataParallel } from '../distributed/data-parallel.js';
import { readDistributedEnv } from '../distributed/environment.js';
import { commandInterrupt } from './interrupt.js';
import { lockOutputFolder } from '../util/output-lock.js';
import { HEAD_NAMES } from '../losses/registry.js';
import { PARALLEL_HEADS_OPTION, parallelHeadChild, runHeadsInParallel, wantsParallelHeads } from './parallel-heads.js';

export const compareSpec: CommandSpec = {
  name: 'compare',
  summary: 'Train one backbone with each head (default: softmax vs L2-softmax) and compare validation accuracy',
  options: {
    heads: { type: 'list', default: ['softmax', 'l2softmax'], description: 'Heads to compare (any from the losses registry)' },
    out: { type: 'string', default: 'runs/compare', description: 'Output folder: results.json, val_acc.svg/png, report.html, checkpoints' },
    ...TRAINING_OPTIONS,
    ...DISTRIBUTED_OPTIONS,
    ...PARALLEL_HEADS_OPTION,
  },
  examples: [
    'deepmetric compare --epochs 3 --max-train 10000',
    'deepmetric compare --heads softmax,l2softmax,arcface --augment --epochs 30 --out runs/margins',
    'deepmetric compare --nproc 2 --epochs 15   # two data-parallel worker processes, one core each',
    'deepmetric compare --parallel-heads --epochs 15   # each head in its own process, cores / heads threads each',
    'deepmetric compare --data ~/data/cifar-10-binary.tar.gz --epochs 1000 --bn-momentum 0.001 --precise-bn 0   # the seed\'s full budget, Keras\'s BatchNorm',
  ],
};

// `deepmetric train` is this experiment with one head: its spec and command live here, beside compare's.
const { heads: _heads, 'parallel-heads': _parallelHeads, ...sharedOptions } = compareSpec.options;

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train a backbone with one head; writes results.json, curves, report and checkpoints',
  options: {
    head: { type: 'string', default: 'l2softmax', choices: HEAD_NAMES, description: 'Head / loss to train with' },
    ...sharedOptions,
    out: { type: 'string', default: 'runs/train', description: 'Output folder' },
  },
  examples: ['deepmetric train --head arcface --backbone resnet18-cifar --augment --epochs 30 --lr 1e-3 --schedule cosine'],
};

export async function trainCommand(argv: string[]): Promise<void> {
  const o = parseOptions(trainSpec, argv);
  await compareCommand(argv, { ...o, heads: [o.head as string] }, 'train');
}

export type HeadResult = HeadRecord;

export interface CompareResults extends RunInfo {
  schema: 'deepmetric/compare-results/1';
  dataset: { source: string; train_size: number; val_size: number; classes: string[] };
  config: Record<string, unknown>;
  heads: HeadResult[];
}

export async function compareCommand(argv: string[], o: ParsedOptions = parseOptions(compareSpec, argv), command = 'compare'): Promise<CompareResults> {
  checkHeadNames(o.heads as string[]);
  parseHeadOptions(o); // a usage error before any data is decoded
  const out = resolve(o.out as string);
  // --parallel-heads: in one head's process, train that head alone (the parent holds --out)
  const headChild = parallelHeadChild();
  if (headChild) o = { ...o, heads: [headChild.head] };
  // One writer per --out: a plain run or the launcher of data-parallel workers takes the lock; the
  // workers (ranks of that one run) do not.
  const lock = readDistributedEnv() === null && !headChild ? lockOutputFolder(out, { what: '--out', command: ['deepmetric', command, ...argv].join(' ') }) : null;
  try {
    // distributed: with --nproc this process only launches the workers, which rerun this command;
    // Ctrl-C reaches them too and they stop cleanly, so here it must not exit before they report.
    if (readDistributedEnv() === null && ((o.nproc as number) > 1 || (o.nnodes as number) > 1)) commandInterrupt.beginStoppableWork();
    if (wantsParallelHeads(o)) return await compareHeadsInParallel(argv, o, command, out);
    const launched = await launchIfRequested(o, command, argv);
    if (launched) return launcherOutcome<CompareResults>(launched, join(out, 'results.json'));
    // distributed: null unless this process is one rank of several (then it must match the others)
    const dp = joinIfWorker(o, { heads: o.heads, model: modelSpec(o), config: trainConfig(o) });
    try {
      const results = await compareInProcess(argv, o, dp);
      dp?.close(true);
      return results;
    } finally {
      dp?.close(); // safe twice; after an error it leaves at once
    }
  } finally {
    lock?.release();
  }
}

async function compareInProcess(argv: string[], o: ParsedOptions, dp: DataParallel | null): Promise<CompareResults> {
  const heads = o.heads as string[];
  applyRuntime(o);
  const out = resolve(o.out as string);
  mkdirSync(out, { recursive: true });
  const root = !dp || dp.isRoot;
  if (root) process.stderr.write(`compare: loading the data (${o.data ?? 'default CIFAR-10 source'})…\n`);
  const data = await loadExperimentData(o);
  const config = trainConfig(o, data.dataset);
  checkBatchFits(config.batchSize, data.train.labels.length);
  if (!dp || dp.isRoot) process.stderr.write(`compare: ${heads.join(' vs ')} on ${data.train.labels.length} training / ${data.val.labels.length} validation images, ` +
    `${o.backbone}${String(o.backbone).startsWith('mobilenet') ? ` α=${o.alpha}` : ''}, ${config.epochs} epochs, batch ${config.batchSize}\n`);
  const results: HeadResult[] = [];
  const stop = commandInterrupt.signal;
  commandInterrupt.beginStoppableWork();
  for (const name of heads) {
    // distributed: ranks stop together through the votes inside train(), never on their own signal
    if (!dp && stop.aborted) break;
    const { model, head } = buildModel(o, name, data.train.classes.length, data.dataset.input);
    try {
      await loadPretrainedWeights(o, model);
      const r = await train({ model, head, train: data.train, val: data.val, config, dir: join(out, 'checkpoints', name), resume: o.resume as boolean, label: name, modelSpec: modelSpec(o, data.dataset.input), distributed: dp, signal: stop });
      results.push({ name, config: head.config(), best_val_acc: r.bestValAcc, best_epoch: r.bestEpoch, final_val_acc: r.finalValAcc, train_seconds: r.trainSeconds, history: r.history });
      if (r.interrupted || (!dp && stop.aborted)) {
        process.stderr.write(`compare: stopped during '${name}'; partial results written. Resume with the same command plus --resume.\n`);
        break;
      }
    } finally {
      model.dispose();
      head.dispose();
    }
  }
  const results_: CompareResults = {
    schema: 'deepmetric/compare-results/1',
    ...runInfo(['compare', ...argv], o),
    dataset: { source: data.source, train_size: data.train.labels.length, val_size: data.val.labels.length, classes: data.train.classes },
    config: { backbone: o.backbone, alpha: o.alpha, ...config },
    heads: results,
  };
  if (dp && !dp.isRoot) return results_; // distributed: rank 0 alone writes results
  const headChild = parallelHeadChild();
  if (headChild) { // --parallel-heads: the parent gathers and writes
    await writeFileAtomic(headChild.resultPath, JSON.stringify(results_));
    return results_;
  }
  await writeCompareOutputs(out, results_);
  process.stdout.write(`${resultTable(results_)}\n\nWrote ${join(out, 'results.json')}, val_acc.svg/png and report.html\n`);
  return results_;
}

/** --parallel-heads: every head in its own process at once; their results gathered as a sequential run writes them. */
async function compareHeadsInParallel(argv: string[], o: ParsedOptions, command: string, out: string): Promise<CompareResults> {
  commandInterrupt.beginStoppableWork(); // Ctrl-C reaches the heads' processes, which stop cleanly; wait for them
  mkdirSync(out, { recursive: true });
  const heads = o.heads as string[];
  const run = await runHeadsInParallel<CompareResults>(o, command, argv, heads, out);
  const first = run.results.find((r) => r !== null);
  if (!first) throw new Error(`${command} --parallel-heads: no head's process wrote results${run.interrupted ? ' (interrupted)' : ''}`);
  const results: CompareResults = {
    ...first,
    ...runInfo(['compare', ...argv], o),
    threads: run.threadsEach,
    heads: run.results.flatMap((r) => r?.heads ?? []),
  };
  if (run.interrupted) {
    process.exitCode = 130;
    process.stderr.write(`${command}: stopped; partial results written. Resume with the same command plus --resume.\n`);
  }
  await writeCompareOutputs(out, results);
  process.stdout.write(`${resultTable(results)}\n\nWrote ${join(out, 'results.json')}, val_acc.svg/png and report.html\n`);
  return results;
}

function resultTable(r: CompareResults): string {
  return formatTable(r.heads.map((h) => ({
    head: h.name, best_val_acc: h.best_val_acc, best_epoch: h.best_epoch, final_val_acc: h.final_val_acc,
    epochs: h.history.length, train_minutes: h.train_seconds / 60,
  })), { digits: 4 });
}

export async function writeCompareOutputs(out: string, r: CompareResults): Promise<void> {
  await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  const withHistory = r.heads.filter((h) => h.history.length > 0);
  if (withHistory.length === 0) return;
  const svg = lineChart(withHistory.map((h) => ({ label: `${h.name} (best ${h.best_val_acc.toFixed(4)})`, x: h.history.map((e) => e.epoch), y: h.history.map((e) => e.val_acc) })),
    { title: 'Validation accuracy per epoch', xLabel: 'epoch', yLabel: 'validation accuracy' });
  await writeChart(out, 'val_acc', svg);
  const report = new HtmlReport({ title: 'deepmetric compare', subtitle: r.command })
    .config({ ...r.config, dataset: r.dataset.source, train_size: r.dataset.train_size, val_size: r.dataset.val_size, threads: r.threads, ...r.versions }, { heading: 'Configuration' })
    .table(r.heads.map((h) => ({ head: h.name, best_val_acc: h.best_val_acc, best_epoch: h.best_epoch, final_val_acc: h.final_val_acc, train_minutes: h.train_seconds / 60 })),
      { heading: 'Results', digits: 4, highlight: { column: 'best_val_acc', best: 'max' } })
    .figure(svg, { heading: 'Validation accuracy', caption: 'Validation accuracy after each epoch, one curve per head.' });
  for (const h of r.heads) {
    report.table(h.history.map((e) => ({ ...e })), { heading: `History: ${h.name}`, digits: 4 });
  }
  await report.write(join(out, 'report.html'));
}

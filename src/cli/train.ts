// `deepmetric train`: one backbone with one head — the compare experiment with a single head.
import { type CommandSpec, parseOptions } from './args.js';
import { compareCommand, compareSpec } from './compare.js';
import { HEAD_NAMES } from '../losses/registry.js';

const { heads: _heads, 'parallel-heads': _parallelHeads, ...shared } = compareSpec.options;

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train a backbone with one head; writes results.json, curves, report and checkpoints',
  options: {
    head: { type: 'string', default: 'l2softmax', choices: HEAD_NAMES, description: 'Head / loss to train with' },
    ...shared,
    out: { type: 'string', default: 'runs/train', description: 'Output folder' },
  },
  examples: ['deepmetric train --head arcface --backbone resnet18-cifar --augment --epochs 30 --lr 1e-3 --schedule cosine'],
};

export async function trainCommand(argv: string[]): Promise<void> {
  const o = parseOptions(trainSpec, argv);
  await compareCommand(argv, { ...o, heads: [o.head as string] }, 'train');
}

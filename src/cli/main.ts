#!/usr/bin/env node
// The `deepmetric` command: dispatches to one file per command; every command has --help.
import { commandOutput, UsageError, type CommandSpec } from './args.js';
import { infoCommand, infoSpec } from './info.js';
import { compareCommand, compareSpec, trainCommand, trainSpec } from './compare.js';
import { evalCommand, evalSpec } from './eval.js';
import { embedCommand, embedSpec } from './embed.js';
import { anomalyCommand, anomalySpec } from './anomaly.js';
import { exportCommand, exportSpec } from './export.js';
import { fitDetectorCommand, fitDetectorSpec } from './fit-detector.js';
import { scoreCommand, scoreSpec } from './score.js';
import { indexCommand, indexSpec, searchCommand, searchSpec } from './index-search.js';
import { commandInterrupt, EXIT_INTERRUPTED } from './interrupt.js';
import { serveCommand, serveSpec } from './serve.js';
import { printable } from '../util/printable.js';

interface Command {
  spec: CommandSpec;
  run(argv: string[]): Promise<unknown> | unknown;
}

const COMMANDS: Record<string, Command> = {
  info: { spec: infoSpec, run: infoCommand },
  train: { spec: trainSpec, run: trainCommand },
  compare: { spec: compareSpec, run: compareCommand },
  eval: { spec: evalSpec, run: evalCommand },
  embed: { spec: embedSpec, run: embedCommand },
  anomaly: { spec: anomalySpec, run: anomalyCommand },
  export: { spec: exportSpec, run: exportCommand },
  'fit-detector': { spec: fitDetectorSpec, run: fitDetectorCommand },
  // Exit code 1 when any file could not be read or decoded (the others are still scored).
  score: { spec: scoreSpec, run: async (argv) => { if ((await scoreCommand(argv)).n_failed > 0) process.exitCode = 1; } },
  index: { spec: indexSpec, run: indexCommand },
  search: { spec: searchSpec, run: async (argv) => { if ((await searchCommand(argv)).results.some((r) => r.error !== undefined)) process.exitCode = 1; } },
  serve: { spec: serveSpec, run: serveCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return ['deepmetric — deep metric learning for TypeScript on libtorch', '', 'Usage: deepmetric <command> [options]', '', 'Commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.spec.summary}`), '', "Run 'deepmetric <command> --help' for a command's options."].join('\n');
}

/** An error's message for the terminal: file names in it may hold escape or bidi characters. */
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n').map(printable).join('\n');

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`deepmetric: unknown command '${printable(name)}'\n\n${usage()}\n`);
    return 2;
  }
  const uninstall = commandInterrupt.install(`deepmetric ${name}`);
  try {
    const printed = commandOutput(command.spec, rest); // --help, --print-schema, --print-config
    if (printed !== undefined) {
      process.stdout.write(`${printed}\n`);
      return 0;
    }
    await command.run(rest);
    if (commandInterrupt.requested) return EXIT_INTERRUPTED;
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const message = errorText(e);
    if (commandInterrupt.requested) {
      process.stderr.write(`deepmetric ${name}: ${message}\n`);
      return EXIT_INTERRUPTED;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`deepmetric ${name}: ${message}\nRun 'deepmetric ${name} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`deepmetric ${name}: ${message}\n`);
    if (process.env.DEEPMETRIC_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  } finally {
    uninstall();
  }
}

process.exitCode = await main(process.argv.slice(2));

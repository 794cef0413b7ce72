// Provenance recorded with every result: versions, threads, the command line, the time.
import { readFileSync } from 'node:fs';
import { torchVersion, getNumThreads } from '../tensor/runtime.js';
import { runDescription, type ParsedOptions } from './args.js';
import type { RunInfo } from '../experiment/run-info.js';

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export type { RunInfo };

export function runInfo(argv: string[], o?: ParsedOptions): RunInfo {
  const run = o && runDescription(o);
  return {
    created: new Date().toISOString(),
    command: ['deepmetric', ...argv].join(' '),
    versions: { deepmetric: packageVersion(), libtorch: torchVersion(), node: process.versions.node },
    threads: getNumThreads(),
    ...(run ? { run } : {}),
  };
}

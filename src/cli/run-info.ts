// Provenance recorded with every result: versions, threads, the command line, the time.
import { readFileSync } from 'node:fs';
import { torchVersion, getNumThreads } from '../tensor/runtime.js';
import { runDescription, type ParsedOptions, type RunDescription } from './args.js';

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export interface RunInfo {
  created: string;
  command: string;
  versions: { deepmetric: string; libtorch: string; node: string };
  threads: number;
  /** The resolved options of the run (every flag, defaults included; see --print-config). */
  run?: RunDescription;
}

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

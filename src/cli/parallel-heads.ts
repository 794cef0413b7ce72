// --parallel-heads: compare's heads train in separate processes at the same time (each with
// cores / heads libtorch threads unless --threads), for machines where that beats data parallelism.
// Each head's process reruns the command for that head alone and hands its results back through a
// file; the parent gathers them in --heads order and writes the usual outputs.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runParallelJobs, threadsPerJob, type JobExit } from '../distributed/parallel-jobs.js';
import type { OptionSpec, ParsedOptions } from './args.js';
import { setByUser, UsageError } from './args.js';

export const PARALLEL_HEADS_OPTION: Record<string, OptionSpec> = {
  'parallel-heads': { type: 'boolean', default: false, description: 'Train the heads in separate processes at the same time (cores / heads libtorch threads each unless --threads); the results are those of a sequential run' },
};

/** Set in a head's process: the head it trains and the file its results go to. */
const HEAD_ENV = 'DEEPMETRIC_PARALLEL_HEAD';
const RESULT_ENV = 'DEEPMETRIC_PARALLEL_HEAD_RESULT';

/** In a head's process (started by runHeadsInParallel): which head, and where its results go; else null. */
export function parallelHeadChild(env: NodeJS.ProcessEnv = process.env): { head: string; resultPath: string } | null {
  const head = env[HEAD_ENV];
  const resultPath = env[RESULT_ENV];
  return head && resultPath ? { head, resultPath } : null;
}

/** Whether this run should start one process per head (and not be one of them). */
export function wantsParallelHeads(o: ParsedOptions): boolean {
  if (!o['parallel-heads'] || parallelHeadChild() !== null) return false;
  if ((o.nproc as number) > 1 || (o.nnodes as number) > 1) {
    throw new UsageError('Expected either --parallel-heads or --nproc/--nnodes (data parallelism), not both');
  }
  return true;
}

export interface ParallelHeadsOutcome<T> {
  /** Each head's results, in --heads order; null for a head whose process wrote none. */
  results: Array<T | null>;
  exits: JobExit[];
  /** True when a head stopped on Ctrl-C (its process exited 130). */
  interrupted: boolean;
  /** libtorch threads each head's process had. */
  threadsEach: number;
}

/**
 * Runs `command argv` once per head, all at the same time, and reads back what each wrote to its
 * result file (JSON by default; `read` may also take files the head wrote next to it, path + '.*',
 * which are removed afterwards).
 */
export async function runHeadsInParallel<T>(o: ParsedOptions, command: string, argv: string[], heads: string[], out: string,
  read: (head: string, resultPath: string) => T = (_head, path) => JSON.parse(readFileSync(path, 'utf8')) as T): Promise<ParallelHeadsOutcome<T>> {
  const explicitThreads = setByUser(o, 'threads');
  const threadsEach = explicitThreads ? (o.threads as number) : threadsPerJob(heads.length);
  const dir = join(out, '.parallel-heads');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = (head: string): string => join(dir, `${encodeURIComponent(head)}.json`);
  process.stderr.write(`${command}: training ${heads.join(', ')} in ${heads.length} processes at the same time, ${threadsEach} libtorch thread${threadsEach > 1 ? 's' : ''} each\n`);
  try {
    const exits = await runParallelJobs({
      script: fileURLToPath(new URL('./main.js', import.meta.url)),
      jobs: heads.map((head) => ({ name: head, args: [command, ...argv], env: { [HEAD_ENV]: head, [RESULT_ENV]: file(head) } })),
      threadsEach,
    });
    const failed = exits.filter((e) => (e.code !== 0 && e.code !== 130) || (e.signal && e.signal !== 'SIGINT'));
    if (failed.length > 0) {
      const how = failed.map((e) => `'${e.name}' (pid ${e.pid}) ${e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`}`).join(', ');
      throw new Error(`--parallel-heads: the process of head ${how}; its checkpoints in --out are intact: rerun with --resume to continue`);
    }
    const results = heads.map((h) => (existsSync(file(h)) ? read(h, file(h)) : null));
    return { results, exits, interrupted: exits.some((e) => e.code === 130 || e.signal === 'SIGINT'), threadsEach };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

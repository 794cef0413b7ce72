// Runs independent jobs as separate processes at the same time (e.g. compare's heads with
// --parallel-heads), each with its share of the cores, and forwards their output line by line so
// that lines of different jobs never interleave mid-line. Ctrl-C reaches the jobs directly (same
// process group); they stop cleanly and the caller gathers what they wrote.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface ParallelJob {
  /** Names the job in messages. */
  name: string;
  /** Arguments after the script. */
  args: string[];
  /** Extra environment of this job. */
  env?: NodeJS.ProcessEnv;
}

export interface ParallelJobsOptions {
  /** The script every job runs (with node). */
  script: string;
  jobs: ParallelJob[];
  /** libtorch threads per job (DEEPMETRIC_NUM_THREADS); default threadsPerJob(jobs.length). */
  threadsEach?: number;
  env?: NodeJS.ProcessEnv;
  /** Where the jobs' complete stdout and stderr lines go (default this process's). */
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

export interface JobExit {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The cores split evenly between the jobs, at least 1 thread each. */
export function threadsPerJob(jobs: number, cores = availableParallelism()): number {
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`Expected a positive number of jobs but received ${jobs}`);
  return Math.max(1, Math.floor(cores / jobs));
}

/** Forwards complete lines of a stream; the last partial line when it ends. */
function lines(stream: NodeJS.ReadableStream, sink: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) return;
    sink(pending.slice(0, cut + 1));
    pending = pending.slice(cut + 1);
  });
  stream.on('end', () => {
    if (pending) sink(`${pending}\n`);
  });
}

/** Starts every job at once and resolves, in job order, when all have exited. */
export async function runParallelJobs(o: ParallelJobsOptions): Promise<JobExit[]> {
  if (o.jobs.length === 0) return [];
  const threads = o.threadsEach ?? threadsPerJob(o.jobs.length);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`Expected a positive integer of threads per job but received ${threads}`);
  const out = o.stdout ?? ((s: string) => process.stdout.write(s));
  const err = o.stderr ?? ((s: string) => process.stderr.write(s));
  const children = o.jobs.map((job) => spawn(process.execPath, [...process.execArgv, o.script, ...job.args], {
    env: { ...(o.env ?? process.env), DEEPMETRIC_NUM_THREADS: String(threads), ...job.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  // Ctrl-C reaches the jobs themselves; this process only stays to gather. SIGTERM is passed on.
  const onSigint = (): void => {};
  const onSigterm = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    return await Promise.all(children.map((child, i) => new Promise<JobExit>((resolve) => {
      lines(child.stdout!, out);
      lines(child.stderr!, err);
      let settled = false;
      child.on('error', (e) => {
        if (settled) return;
        settled = true;
        err(`could not start job '${o.jobs[i].name}': ${e.message}\n`);
        resolve({ name: o.jobs[i].name, pid: child.pid ?? -1, code: 1, signal: null });
      });
      child.on('close', (code, signal) => {
        if (settled) return;
        settled = true;
        resolve({ name: o.jobs[i].name, pid: child.pid ?? -1, code, signal });
      });
    })));
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
  }
}

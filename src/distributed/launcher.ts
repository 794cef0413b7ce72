// Starts the worker processes of this machine, as torchrun does: one process per local rank with
// RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT in its environment
// (or, on one machine, a fresh private rendezvous file instead of a port). When a worker fails, the others
// notice on their own within the timeout; the launcher names the failed rank and, should a worker
// outlive that, ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:os';
import { INIT_METHOD_ENV } from './environment.js';

export interface LaunchOptions {
  /** Workers on this machine. */
  nproc: number;
  /** Machines taking part (each runs the launcher with its own nodeRank); default 1. */
  nnodes?: number;
  nodeRank?: number;
  /** Rank 0's machine; required with several machines, 127.0.0.1 otherwise. */
  masterAddr?: string;
  /** Rank 0's store port with several machines (default 29500, torchrun's); one machine always meets through a private rendezvous file. */
  masterPort?: number;
  /** The script each worker runs and its arguments. */
  script: string;
  args: string[];
  /** libtorch threads per worker (DEEPMETRIC_NUM_THREADS); default 1. */
  threads?: number;
  /** Seconds the workers wait for each other; the launcher allows that plus a grace period. */
  timeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface WorkerExit {
  rank: number;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** 0 when every worker succeeded, else the first failed worker's exit status (128+n for signal n). */
  code: number;
  exits: WorkerExit[];
  /** The first worker that failed, if any. */
  firstFailure: WorkerExit | null;
  /** A sentence naming the failed ranks, or '' when all succeeded. */
  summary: string;
}

function exitStatus(e: WorkerExit): number {
  if (e.signal) return 128 + (constants.signals[e.signal] ?? 0);
  return e.code ?? 1;
}

export function describeExit(e: WorkerExit): string {
  return e.signal ? `rank ${e.rank} (pid ${e.pid}) was killed by ${e.signal}` : `rank ${e.rank} (pid ${e.pid}) exited with code ${e.code}`;
}

export async function launchWorkers(o: LaunchOptions): Promise<LaunchResult> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  for (const [name, v, min] of [['nproc', o.nproc, 1], ['nnodes', nnodes, 1], ['node rank', nodeRank, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`Expected an integer ≥ ${min} for ${name} but received ${v}`);
  }
  if (nodeRank >= nnodes) throw new RangeError(`Expected a node rank below nnodes ${nnodes} but received ${nodeRank}`);
  if (nnodes > 1 && !o.masterAddr) throw new RangeError('Several machines need --master-addr (or MASTER_ADDR): the address of the machine with node rank 0');
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const worldSize = nnodes * o.nproc;
  const timeoutSeconds = o.timeoutSeconds ?? 60;
  // One machine meets through a file in a private (0700) folder, port or no port: libtorch 1.13's
  // TCP store listens on every interface, which would open the run to the network.
  const useFile = nnodes === 1;
  if (useFile && o.masterPort !== undefined) log(`launch: one machine: the ranks meet through a private rendezvous file; port ${o.masterPort} is not opened (it is used with --nnodes > 1)`);
  const rendezvousDir = useFile ? mkdtempSync(join(tmpdir(), 'deepmetric-rendezvous-')) : null;
  const rendezvous: NodeJS.ProcessEnv = rendezvousDir
    ? { [INIT_METHOD_ENV]: `file://${join(rendezvousDir, 'store')}`, MASTER_ADDR: '127.0.0.1' }
    : { [INIT_METHOD_ENV]: 'env://', MASTER_ADDR: o.masterAddr ?? '127.0.0.1', MASTER_PORT: String(o.masterPort ?? 29500) };

  const children: { rank: number; child: ChildProcess }[] = [];
  const exits: WorkerExit[] = [];
  let firstFailure: WorkerExit | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (signal: NodeJS.Signals) => () => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  // Ctrl-C reaches the workers directly (same process group) and they stop cleanly together;
  // the launcher only has to stay alive to report. SIGTERM sent to the launcher alone is passed on.
  const onSigint = (): void => {};
  const onSigterm = forward('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    await new Promise<void>((resolve) => {
      for (let local = 0; local < o.nproc; local++) {
        const rank = nodeRank * o.nproc + local;
        const env: NodeJS.ProcessEnv = {
          ...(o.env ?? process.env),
          ...rendezvous,
          RANK: String(rank),
          WORLD_SIZE: String(worldSize),
          LOCAL_RANK: String(local),
          LOCAL_WORLD_SIZE: String(o.nproc),
          GROUP_RANK: String(nodeRank),
          DEEPMETRIC_NUM_THREADS: String(o.threads ?? 1),
          // c10d's own warnings repeat what our errors say, in glog's format.
          GLOG_minloglevel: (o.env ?? process.env).GLOG_minloglevel ?? '2',
        };
        const child = spawn(process.execPath, [...process.execArgv, o.script, ...o.args], { env, stdio: 'inherit' });
        children.push({ rank, child });
        let done = false;
        child.on('error', (error) => {
          if (done) return;
          done = true;
          log(`launcher: could not start rank ${rank}: ${error.message}`);
          const e: WorkerExit = { rank, pid: child.pid ?? -1, code: 1, signal: null };
          exits.push(e);
          firstFailure ??= e;
          if (exits.length === o.nproc) resolve();
        });
        child.on('exit', (code, signal) => {
          if (done) return;
          done = true;
          const e: WorkerExit = { rank, pid: child.pid ?? -1, code, signal };
          exits.push(e);
          if ((code !== 0 || signal) && firstFailure === null) {
            firstFailure = e;
            log(`launcher: ${describeExit(e)}; the other workers stop within --timeout (${timeoutSeconds} s)`);
            // Workers detect a lost peer themselves; this only ends one that somehow does not.
            killTimer = setTimeout(() => {
              for (const c of children) {
                if (c.child.exitCode === null && c.child.signalCode === null) {
                  log(`launcher: rank ${c.rank} is still running ${timeoutSeconds + 15} s after rank ${e.rank} failed; killing it`);
                  c.child.kill('SIGKILL');
                }
              }
            }, (timeoutSeconds + 15) * 1000);
          }
          if (exits.length === o.nproc) resolve();
        });
      }
    });
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
    if (rendezvousDir) rmSync(rendezvousDir, { recursive: true, force: true });
  }
  exits.sort((a, b) => a.rank - b.rank);
  const failed = exits.filter((e) => e.code !== 0 || e.signal);
  const first = firstFailure as WorkerExit | null;
  return {
    code: first ? exitStatus(first) : 0,
    exits,
    firstFailure: first,
    summary: first ? `${describeExit(first)}${failed.length > 1 ? `; then ${failed.filter((e) => e !== first).map(describeExit).join(', ')}` : ''}` : '',
  };
}

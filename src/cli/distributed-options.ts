// The training commands' data-parallel options and their wiring: `--nproc N` turns the command
// into a launcher of N workers on this machine (which rerun the same command as ranks), and a
// process started with torchrun's variables (by that launcher, or by `torchrun --no-python`)
// joins the group instead.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchWorkers, type LaunchResult } from '../distributed/launcher.js';
import { readDistributedEnv } from '../distributed/environment.js';
import { DataParallel } from '../distributed/data-parallel.js';
import { type OptionSpec, type ParsedOptions, setByUser } from './args.js';

export const DISTRIBUTED_OPTIONS: Record<string, OptionSpec> = {
  nproc: { type: 'number', integer: true, min: 1, default: 1, description: 'Data-parallel worker processes on this machine (1 libtorch thread each unless --threads); global batch stays --batch-size' },
  nnodes: { type: 'number', integer: true, min: 1, default: 1, description: 'Machines taking part; run the same command on each with its --node-rank' },
  'node-rank': { type: 'number', integer: true, min: 0, default: 0, description: "This machine's index among --nnodes (0 hosts rank 0)" },
  'master-addr': { type: 'string', env: 'MASTER_ADDR', description: 'Address of the machine with node rank 0 (several machines)' },
  'master-port': { type: 'number', integer: true, min: 1, env: 'MASTER_PORT', description: "Rank 0's rendezvous port with --nnodes > 1 (default 29500; it listens on every interface). One machine meets through a private rendezvous file and opens no port" },
  'sync-bn': { type: 'boolean', default: false, description: 'Normalise BatchNorm with the statistics of the whole global batch (one small allreduce per layer per step) instead of each rank\'s shard' },
  timeout: { type: 'number', min: 0.1, default: 60, description: 'Seconds a rank waits for the others (joining, each exchange) before failing with the lost rank named' },
};

/** The launcher's outcome, or null when this process should train itself (a worker, or a plain run). */
export async function launchIfRequested(o: ParsedOptions, command: string, argv: string[]): Promise<LaunchResult | null> {
  if (readDistributedEnv() !== null) return null;
  const nproc = o.nproc as number;
  const nnodes = o.nnodes as number;
  if (nproc === 1 && nnodes === 1) return null;
  const explicitThreads = setByUser(o, 'threads');
  return launchWorkers({
    nproc,
    nnodes,
    nodeRank: o['node-rank'] as number,
    masterAddr: o['master-addr'] as string | undefined,
    masterPort: o['master-port'] as number | undefined,
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: [command, ...argv],
    threads: explicitThreads ? (o.threads as number) : 1,
    timeoutSeconds: o.timeout as number,
  });
}

/** Joins the group when this process is one rank of several; the fingerprint must match on every rank. */
export function joinIfWorker(o: ParsedOptions, fingerprint: unknown): DataParallel | null {
  const syncBatchNorm = o['sync-bn'] === true;
  return DataParallel.fromEnvironment({ timeoutSeconds: o.timeout as number, fingerprint: JSON.stringify({ settings: fingerprint, syncBatchNorm }), syncBatchNorm });
}

/**
 * What the launcher hands back: rank 0's results file after a successful run; after an interrupt
 * (exit 130) the partial results with the exit status kept; otherwise an error naming the failed rank.
 */
export function launcherOutcome<T>(launched: LaunchResult, resultsPath: string): T {
  if (launched.code !== 0 && launched.code !== 130) {
    throw new Error(`distributed run failed: ${launched.summary}. The checkpoints in --out are intact: rerun with --resume (any --nproc) to continue.`);
  }
  if (launched.code === 130) process.exitCode = 130;
  if (!existsSync(resultsPath)) throw new Error(`distributed run ended without ${resultsPath} (${launched.summary || 'all workers exited 0'})`);
  return JSON.parse(readFileSync(resultsPath, 'utf8')) as T;
}

// Starts test ranks as separate processes with torchrun's variables, on loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RankExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Seconds from start to exit. */
  seconds: number;
}

export interface StartedRank {
  child: ChildProcess;
  done: Promise<RankExit>;
  /** Resolves when the rank's stderr or stdout has matched. */
  output(pattern: RegExp): Promise<void>;
}

/** A compiled script next to this file (dist/test/distributed/<name>.js) or the CLI. */
export function scriptPath(name: string): string {
  return name === 'cli' ? fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)) : fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

/** A fresh rendezvous file for one run. */
export function fileRendezvous(): NodeJS.ProcessEnv {
  return { DEEPMETRIC_INIT_METHOD: `file://${join(mkdtempSync(join(tmpdir(), 'dm-rdv-')), 'store')}` };
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export function tcpRendezvous(port: number): NodeJS.ProcessEnv {
  return { DEEPMETRIC_INIT_METHOD: 'env://', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
}

export function startRank(script: string, args: string[], rank: number, worldSize: number, env: NodeJS.ProcessEnv): StartedRank {
  const t0 = performance.now();
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1', GLOG_minloglevel: '3', RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...watchers]) {
      if (w.pattern.test(stdout) || w.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => { stdout += d; check(); });
  child.stderr!.on('data', (d) => { stderr += d; check(); });
  const done = new Promise<RankExit>((resolve) => {
    child.on('close', (code, signal) => resolve({ rank, code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
  return {
    child,
    done,
    output: (pattern) => new Promise<void>((resolve, reject) => {
      watchers.push({ pattern, resolve });
      check();
      void done.then((e) => reject(new Error(`rank ${rank} exited (${e.code ?? e.signal}) before printing ${pattern}: ${e.stderr.slice(-2000)}`)));
    }),
  };
}

/** Starts ranks 0..n-1 of one run and waits for all of them. */
export async function runRanks(script: string, args: string[], n: number, env: NodeJS.ProcessEnv, perRank: (rank: number) => NodeJS.ProcessEnv = () => ({})): Promise<RankExit[]> {
  return Promise.all(Array.from({ length: n }, (_, r) => startRank(script, args, r, n, { ...env, ...perRank(r) }).done));
}

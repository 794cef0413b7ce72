// The robustness suite: every test here feeds deepmetric one bad input (a hostile file, a careless
// flag, a signal at an awkward moment, a full disk…) and checks that it gets a clear answer rather
// than a crash, a hang, silent damage or runaway memory. Declare each case with badInput(id, …):
// coverage.test.ts counts the distinct ids and prints the count. Features add their cases here
// (serve, detectors, distributed…) in a file of their own.
import { after, test, type TestContext } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One bad input: `id` is 'area/what' and unique across the suite. */
export function badInput(id: string, description: string, fn: (t: TestContext) => Promise<void> | void, options: { timeout?: number } = {}): void {
  test(`[bad input] ${id}: ${description}`, { timeout: options.timeout ?? 60_000 }, fn);
}

/**
 * An id for a case declared from a table (a loop over several bad inputs): written as a literal
 * through caseId('area/what'), so that coverage.test.ts, which reads the sources, counts it.
 */
export function caseId(id: string): string {
  return id;
}

export const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const rssReporter = new URL('./rss-reporter.js', import.meta.url).href;

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The child's own peak resident set size in MB, as it reported it on exit (NaN if it did not). */
  peakRssMb: number;
  /** Wall time in seconds. */
  seconds: number;
}

export interface ChildOptions {
  /** Send SIGINT the first time stderr matches this. */
  interruptOn?: RegExp;
  /** Send SIGINT the first time stdout matches this. */
  interruptOnStdout?: RegExp;
  /** Kill with SIGKILL after this many ms (default 60 s). */
  killAfterMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs `deepmetric <args>` as a child process with one libtorch thread. */
export function runCli(args: string[], o: ChildOptions = {}): Promise<ChildRun> {
  return runNode([cliPath, ...args], o);
}

/** Runs node with the given arguments; the child reports its peak RSS on exit. */
export function runNode(args: string[], o: ChildOptions = {}): Promise<ChildRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', rssReporter, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], cwd: o.cwd,
      env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1', NODE_NO_WARNINGS: '0', ...o.env },
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (o.interruptOnStdout && !sent && o.interruptOnStdout.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (o.interruptOn && !sent && o.interruptOn.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const m = /deepmetric-test peak-rss-kb=(\d+)/.exec(stderr);
      resolve({ code, signal, stdout, stderr, peakRssMb: m ? Number(m[1]) / 1024 : Number.NaN, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** A fresh temporary folder, removed when the file's tests are done. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dm-robust-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Writes `dir/name` as a safetensors file with exactly this header (any JSON, however wrong) and
 * data, for readers to refuse; returns its path.
 */
export function rawSafetensors(dir: string, name: string, header: unknown, data = Buffer.alloc(0)): string {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = join(dir, name);
  writeFileSync(file, Buffer.concat([len, Buffer.from(json), data]));
  return file;
}

// A c10d process group: the ranks of one run meet through a store (TCPStore hosted by rank 0, or
// a shared file), check that they agree (world size, versions, settings), and then exchange
// tensors with gloo. Each rank's native heartbeat thread bumps a counter in the store, so when a
// collective fails the survivors can name the rank that stopped instead of only "connection closed".
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { native, type NativeProcessGroup } from '../binding/native.js';
import type { Tensor } from '../tensor/tensor.js';
import { torchVersion } from '../tensor/runtime.js';
import { DEFAULT_BUCKET_BYTES, planBuckets } from './buckets.js';
import type { Rendezvous } from './environment.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  rendezvous: Rendezvous;
  /** Bounds every wait: joining, each collective, and how long a silent rank is awaited (default 60). */
  timeoutSeconds?: number;
  backend?: 'gloo' | 'nccl';
  /** Settings every rank must share (e.g. the training configuration); a mismatch is an error. */
  fingerprint?: string;
  /** gloo's network interface (default $GLOO_SOCKET_IFNAME, else the loopback address on one machine). */
  iface?: string;
  /** Milliseconds between heartbeats (default 500). */
  heartbeatMs?: number;
}

/** A distributed failure; lostRanks names the ranks that stopped responding, when known. */
export class DistributedError extends Error {
  constructor(message: string, readonly lostRanks: number[] = []) {
    super(message);
    this.name = 'DistributedError';
  }
}

/** True where the addon was built with c10d (gloo headers present); otherwise `reason` says why not. */
export function distributedSupport(): { gloo: boolean; nccl: boolean; reason: string } {
  return native.distSupport();
}

const LOOPBACK = /^(127\.|localhost$|::1$)/;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread (not the native heartbeat) for ms; collectives are synchronous, so their diagnosis is too. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function nativeCause(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^dist\w+: /, '');
}

interface Hello {
  worldSize: number;
  versions: string;
  fingerprint: string;
  host: string;
  pid: number;
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  readonly rendezvous: Rendezvous;
  private handle: NativeProcessGroup | null;
  private readonly heartbeatMs: number;
  private failure: DistributedError | null = null;

  private constructor(handle: NativeProcessGroup, o: ProcessGroupOptions, timeoutMs: number, heartbeatMs: number) {
    this.handle = handle;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.rendezvous = o.rendezvous;
    this.timeoutMs = timeoutMs;
    this.heartbeatMs = heartbeatMs;
  }

  /** Joins the group: blocks until every rank has arrived and agreed, or fails within the timeout. */
  static create(o: ProcessGroupOptions): ProcessGroup {
    const support = distributedSupport();
    if (!support.gloo) throw new DistributedError(support.reason);
    if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`Expected a world size ≥ 1 but received ${o.worldSize}`);
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new RangeError(`Expected a rank between 0 and ${o.worldSize - 1} but received ${o.rank}`);
    const timeoutSeconds = o.timeoutSeconds ?? 60;
    if (!(timeoutSeconds > 0)) throw new RangeError(`Expected a positive timeout in seconds but received ${timeoutSeconds}`);
    const timeoutMs = Math.round(timeoutSeconds * 1000);
    const rv = o.rendezvous;
    let handle: NativeProcessGroup;
    try {
      handle = native.distConnect({ ...(rv.kind === 'tcp' ? { store: 'tcp', host: rv.host, port: rv.port } : { store: 'file', path: rv.path }), rank: o.rank, worldSize: o.worldSize, timeoutMs });
    } catch (e) {
      const cause = nativeCause(e);
      if (rv.kind === 'tcp' && o.rank === 0 && /listen|bind|in use/i.test(cause)) {
        throw new DistributedError(`rank 0 could not host the rendezvous store on port ${rv.port}: it is in use (another run? pick another --master-port). ${cause}`);
      }
      if (rv.kind === 'tcp') {
        throw new DistributedError(`rank ${o.rank} could not reach the master at ${rv.host}:${rv.port} within ${timeoutSeconds} s ` +
          `(is rank 0 running, with the same --master-addr/--master-port, and reachable from here?). ${cause}`, o.rank === 0 ? [] : [0]);
      }
      throw new DistributedError(`rank ${o.rank} could not open the rendezvous file ${rv.path}: ${cause}`);
    }
    const group = new ProcessGroup(handle, o, timeoutMs, o.heartbeatMs ?? 500);
    try {
      group.handshake(o.fingerprint ?? '');
      const iface = o.iface ?? process.env.GLOO_SOCKET_IFNAME;
      const onOneMachine = rv.kind === 'file' || LOOPBACK.test(rv.host);
      try {
        native.distCreateGroup(handle, { backend: o.backend ?? 'gloo', ...(iface ? { iface } : onOneMachine ? { hostname: '127.0.0.1' } : {}), heartbeatMs: group.heartbeatMs });
      } catch (e) {
        throw new DistributedError(`rank ${o.rank} could not connect to every other rank within ${timeoutSeconds} s: ${nativeCause(e)}`);
      }
    } catch (e) {
      group.close();
      throw e;
    }
    return group;
  }

  /** Every rank announces itself; rank 0 checks them all and publishes the verdict. */
  private handshake(fingerprint: string): void {
    const h = this.native();
    if (native.distStoreAdd(h, `claim/${this.rank}`, 1) > 1) {
      throw new DistributedError(`rank ${this.rank} is already taken by another process: each process needs its own RANK (stale rendezvous file or a duplicated launch?)`);
    }
    const me: Hello = { worldSize: this.worldSize, versions: `deepmetric ${packageVersion()}, libtorch ${torchVersion()}`, fingerprint, host: hostname(), pid: process.pid };
    native.distStoreSet(h, `hello/${this.rank}`, JSON.stringify(me));
    const disagreement = (other: Hello, r: number): string | null => {
      if (other.worldSize !== me.worldSize) return `rank ${r} has WORLD_SIZE ${other.worldSize} but rank ${this.rank} has ${me.worldSize}`;
      if (other.versions !== me.versions) return `rank ${r} runs ${other.versions} but rank ${this.rank} runs ${me.versions}`;
      if (other.fingerprint !== me.fingerprint) return `rank ${r} was started with other settings than rank ${this.rank} (${other.fingerprint} vs ${me.fingerprint})`;
      return null;
    };
    const deadline = Date.now() + this.timeoutMs;
    if (this.rank === 0) {
      let verdict = 'ok';
      for (let r = 1; r < this.worldSize && verdict === 'ok'; r++) {
        const raw = this.pollKey(`hello/${r}`, deadline);
        if (raw === null) {
          const missing = Array.from({ length: this.worldSize - r }, (_, k) => r + k).filter((k) => native.distStoreTryGet(h, `hello/${k}`) === null);
          verdict = `rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} did not join within ${this.timeoutMs / 1000} s (not started, or started with another WORLD_SIZE or rendezvous?)`;
        } else {
          verdict = disagreement(JSON.parse(raw) as Hello, r) ?? 'ok';
        }
      }
      native.distStoreSet(h, 'verdict', verdict);
      if (verdict !== 'ok') throw new DistributedError(`the ranks disagree: ${verdict}`);
      return;
    }
    const root = this.pollKey('hello/0', deadline);
    if (root === null) throw new DistributedError(`rank 0 did not join within ${this.timeoutMs / 1000} s`, [0]);
    const mine = disagreement(JSON.parse(root) as Hello, 0);
    if (mine) throw new DistributedError(`the ranks disagree: ${mine}`);
    const verdict = this.pollKey('verdict', deadline + this.timeoutMs);
    if (verdict === null) throw new DistributedError(`rank 0 did not confirm the group within ${this.timeoutMs / 1000} s`, [0]);
    if (verdict !== 'ok') throw new DistributedError(`the ranks disagree: ${verdict}`);
  }

  private pollKey(key: string, deadline: number): string | null {
    for (;;) {
      const v = native.distStoreTryGet(this.native(), key);
      if (v !== null || Date.now() > deadline) return v;
      sleepSync(20);
    }
  }

  private native(): NativeProcessGroup {
    if (this.failure) throw this.failure;
    if (this.handle === null) throw new DistributedError('the process group was closed');
    return this.handle;
  }

  /** Runs a collective; on failure, finds out which ranks are gone and says so. */
  private collective<T>(op: string, fn: (h: NativeProcessGroup) => T): T {
    const h = this.native();
    try {
      return fn(h);
    } catch (e) {
      const cause = nativeCause(e);
      if (/is not a|already disposed|mixes dtypes|unknown reduce|outside a world|expected a list/.test(cause)) throw e; // a caller's mistake, not a fault
      this.failure = this.diagnose(op, cause);
      throw this.failure;
    }
  }

  /** Which ranks stopped beating: beats that advance mark a rank alive; silence past the threshold marks it lost. */
  lostRanks(): number[] {
    const h = this.handle;
    if (h === null) return [];
    const threshold = Math.min(this.timeoutMs, Math.max(5 * this.heartbeatMs, 3000));
    let first: number[];
    try {
      first = native.distHeartbeats(h);
    } catch {
      return this.rendezvous.kind === 'tcp' && this.rank !== 0 ? [0] : []; // rank 0 hosts the store
    }
    const pending = new Set(first.map((_, r) => r).filter((r) => r !== this.rank));
    const start = Date.now();
    while (pending.size > 0 && Date.now() - start < threshold) {
      sleepSync(100);
      let now: number[];
      try {
        now = native.distHeartbeats(h);
      } catch {
        return this.rendezvous.kind === 'tcp' && this.rank !== 0 ? [0] : [...pending];
      }
      for (const r of [...pending]) if (now[r] !== first[r]) pending.delete(r);
    }
    return [...pending].sort((a, b) => a - b);
  }

  private diagnose(op: string, cause: string): DistributedError {
    const lost = this.lostRanks();
    const who = lost.length === 0 ? 'every other rank is still alive'
      : `lost rank${lost.length > 1 ? 's' : ''} ${lost.join(', ')} (no heartbeat${lost.includes(0) && this.rendezvous.kind === 'tcp' ? ', or its store is gone' : ''})`;
    return new DistributedError(`${op} failed on rank ${this.rank}: ${who}. Cause: ${cause}`, lost);
  }

  /** In place: every rank's tensors become the reduction over all ranks (buckets of ~25 MB travel as one). */
  allreduce(tensors: Tensor[], op: ReduceOp = 'sum', bucketBytes = DEFAULT_BUCKET_BYTES): void {
    const buckets = planBuckets(tensors, bucketBytes).map((b) => b.map((t) => t.handle));
    this.collective('allreduce', (h) => native.distAllreduce(h, buckets, op));
  }

  /** Sums plain numbers over all ranks (one small float64 allreduce). */
  sum(values: number[]): number[] {
    return this.collective('allreduce', (h) => native.distAllreduce(h, [], 'sum', values));
  }

  /**
   * Averages the gradients of these parameters over all ranks, in place (a missing gradient counts
   * as zeros). `extra` numbers ride along in the last bucket and come back summed.
   */
  averageGradients(buckets: Tensor[][], extra: number[] = []): number[] {
    const handles = buckets.map((b) => b.map((t) => t.handle));
    return this.collective('gradient allreduce', (h) => native.distAllreduceGrads(h, handles, extra));
  }

  /** In place: every rank's tensors become root's. */
  broadcast(tensors: Tensor[], root = 0, bucketBytes = DEFAULT_BUCKET_BYTES): void {
    const buckets = planBuckets(tensors, bucketBytes).map((b) => b.map((t) => t.handle));
    this.collective('broadcast', (h) => native.distBroadcast(h, buckets, root));
  }

  barrier(): void {
    this.collective('barrier', (h) => native.distBarrier(h));
  }

  /** Publishes a value under key for the other ranks (store keys are per run). */
  publish(key: string, value: string): void {
    native.distStoreSet(this.native(), `user/${key}`, value);
  }

  /**
   * Waits, without a time limit, for the value `owner` publishes under key, as long as owner's
   * heartbeat goes on; an owner silent past the timeout (or a vanished store) is a DistributedError.
   */
  async waitFor(key: string, owner: number): Promise<string> {
    const h = this.native();
    let lastBeat = -2;
    let lastChange = Date.now();
    const stale = Math.min(this.timeoutMs, Math.max(5 * this.heartbeatMs, 3000));
    for (;;) {
      let value: string | null;
      let beats: number[];
      try {
        value = native.distStoreTryGet(h, `user/${key}`);
        if (value !== null) return value;
        beats = native.distHeartbeats(h);
      } catch (e) {
        this.failure = new DistributedError(`waiting for rank ${owner} failed on rank ${this.rank}: the rendezvous store is gone` +
          `${this.rendezvous.kind === 'tcp' ? ' (rank 0 hosts it: lost rank 0)' : ''}. Cause: ${nativeCause(e)}`, [0]);
        throw this.failure;
      }
      if (beats[owner] !== lastBeat) {
        lastBeat = beats[owner];
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stale) {
        this.failure = new DistributedError(`waiting for rank ${owner} failed on rank ${this.rank}: lost rank ${owner} (no heartbeat for ${(stale / 1000).toFixed(1)} s)`, [owner]);
        throw this.failure;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** A barrier through the store: waits for every rank to arrive at `name`, for as long as the missing ones are alive. */
  async arrive(name: string): Promise<void> {
    this.publish(`${name}/${this.rank}`, '1');
    for (let r = 0; r < this.worldSize; r++) if (r !== this.rank) await this.waitFor(`${name}/${r}`, r);
  }

  /** Leaves the group; safe twice. Rank 0's store goes with it, so call it last (after a barrier). */
  close(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    native.distClose(h);
  }
}

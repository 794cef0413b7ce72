// Where this process sits in a distributed run, read from torchrun's environment variables
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so that
// `torchrun --no-python …` and deepmetric's own launcher start workers the same way.
import { isAbsolute } from 'node:path';

/** How the ranks meet: rank 0 hosts a TCP store at host:port, or they share a file (one machine). */
export type Rendezvous = { kind: 'tcp'; host: string; port: number } | { kind: 'file'; path: string };

export interface DistributedEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  rendezvous: Rendezvous;
}

/** 'env://' (the default: MASTER_ADDR/MASTER_PORT) or 'file:///absolute/path' (one machine). */
export const INIT_METHOD_ENV = 'DEEPMETRIC_INIT_METHOD';

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`Expected an integer${max < Number.MAX_SAFE_INTEGER ? ` between ${min} and ${max}` : ` ≥ ${min}`} for ${name} but received ${JSON.stringify(raw)}`);
  }
  return n;
}

export function parseRendezvous(env: NodeJS.ProcessEnv = process.env): Rendezvous {
  const method = env[INIT_METHOD_ENV] ?? 'env://';
  if (method.startsWith('file://')) {
    const path = decodeURIComponent(method.slice('file://'.length));
    if (!isAbsolute(path)) throw new RangeError(`Expected ${INIT_METHOD_ENV}=file:///absolute/path but received ${JSON.stringify(method)}`);
    return { kind: 'file', path };
  }
  if (method !== 'env://') throw new RangeError(`Expected ${INIT_METHOD_ENV} to be env:// or file:///path but received ${JSON.stringify(method)}`);
  const host = env.MASTER_ADDR;
  if (!host) throw new RangeError('MASTER_ADDR is not set: it must name the machine of rank 0 (e.g. 127.0.0.1 on one machine)');
  return { kind: 'tcp', host, port: integer(env, 'MASTER_PORT', 1, 65535) };
}

/** The distributed role of this process, or null when it was not started as one rank of several. */
export function readDistributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | null {
  const hasRank = env.RANK !== undefined && env.RANK !== '';
  const hasWorld = env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '';
  if (!hasRank && !hasWorld) return null;
  if (hasRank !== hasWorld) throw new RangeError(`Expected both RANK and WORLD_SIZE to be set but only ${hasRank ? 'RANK' : 'WORLD_SIZE'} is`);
  const worldSize = integer(env, 'WORLD_SIZE', 1);
  const rank = integer(env, 'RANK', 0, worldSize - 1);
  const localWorldSize = env.LOCAL_WORLD_SIZE ? integer(env, 'LOCAL_WORLD_SIZE', 1) : 1;
  const localRank = env.LOCAL_RANK ? integer(env, 'LOCAL_RANK', 0, localWorldSize - 1) : 0;
  return { rank, worldSize, localRank, localWorldSize, rendezvous: parseRendezvous(env) };
}

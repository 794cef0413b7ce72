// createMiner: a miner from its JSON spec, so a loss's config can name one.
import { describe } from '../../tensor/checks.js';
import { createDistance } from '../../distances/create-distance.js';
import type { Distance } from '../../distances/distance.js';
import { Miner, type MinerSpec } from './miner.js';
import { TripletMiner } from './triplet-miner.js';
import { MultiSimilarityMiner } from './multi-similarity-miner.js';

const OPTIONS: Record<string, readonly string[]> = { triplet: ['type', 'distance'], multisimilarity: ['epsilon', 'distance'] };

/**
 * A Miner from a spec ({ name: 'triplet', type: 'hard' }, { name: 'multisimilarity', epsilon: 0.1 })
 * or a Miner (returned as is). The spec's distance, else `distance`, else the miner's default is used.
 */
export function createMiner(spec: MinerSpec | Miner, distance?: Distance): Miner {
  if (spec instanceof Miner) return spec;
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string') {
    throw new TypeError(`Expected a miner spec ({ name: 'triplet' | 'multisimilarity', … }) or a Miner but received ${describe(spec)}`);
  }
  const allowed = OPTIONS[spec.name];
  if (allowed === undefined || !Object.hasOwn(OPTIONS, spec.name)) {
    throw new RangeError(`Expected a miner name, one of 'triplet', 'multisimilarity', but received ${describe(spec.name)}`);
  }
  const unknown = Object.keys(spec).filter((k) => k !== 'name' && !allowed.includes(k));
  if (unknown.length > 0) throw new RangeError(`Expected options of the ${spec.name} miner among ${allowed.join(', ')} but received ${unknown.map((k) => `'${k}'`).join(', ')}`);
  const d = spec.distance === undefined ? distance : createDistance(spec.distance);
  if (spec.name === 'triplet') return new TripletMiner({ type: spec.type as TripletMiner['type'] | undefined, distance: d });
  return new MultiSimilarityMiner({ epsilon: spec.epsilon as number | undefined, distance: d });
}

// createDistance: a distance from its name or JSON spec, so losses and the CLI can select one by
// string and a saved config rebuilds it.
import { describe } from '../tensor/checks.js';
import { Distance, type DistanceName, type DistanceSpec, DISTANCE_NAMES, type DistanceOptions } from './distance.js';
import { CosineSimilarity } from './cosine-similarity.js';
import { DotProductSimilarity } from './dot-product-similarity.js';
import { EuclideanDistance, SquaredEuclideanDistance } from './euclidean-distance.js';

const CONSTRUCTORS: Record<DistanceName, new (opts?: DistanceOptions) => Distance> = {
  cosine: CosineSimilarity,
  euclidean: EuclideanDistance,
  squaredEuclidean: SquaredEuclideanDistance,
  dot: DotProductSimilarity,
};

/**
 * A Distance from a name ('euclidean'), a spec ({ name: 'euclidean', normalizeEmbeddings: false })
 * or a Distance (returned as is). `defaults` fills options the spec leaves out.
 */
export function createDistance(spec: DistanceName | DistanceSpec | Distance, defaults: DistanceOptions = {}): Distance {
  if (spec instanceof Distance) return spec;
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : (spec ?? {}) as DistanceSpec;
  const expected = `one of ${DISTANCE_NAMES.map((n) => `'${n}'`).join(', ')}`;
  if (typeof name !== 'string') throw new TypeError(`Expected a distance name (${expected}), a { name, normalizeEmbeddings } spec or a Distance but received ${describe(spec)}`);
  if (!Object.hasOwn(CONSTRUCTORS, name)) throw new RangeError(`Expected a distance name, ${expected}, but received ${describe(name)}`);
  const unknown = Object.keys(options).filter((k) => k !== 'normalizeEmbeddings');
  if (unknown.length > 0) throw new RangeError(`Expected distance options among normalizeEmbeddings but received ${unknown.map((k) => `'${k}'`).join(', ')}`);
  return new CONSTRUCTORS[name]({ ...defaults, ...options });
}

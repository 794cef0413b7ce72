// Distances shared by the pair losses, their miners and k-NN search: re-exports only.
export { Distance, DISTANCE_NAMES, type DistanceName, type DistanceOptions, type DistanceSpec } from './distance.js';
export { CosineSimilarity } from './cosine-similarity.js';
export { DotProductSimilarity } from './dot-product-similarity.js';
export { EuclideanDistance, SquaredEuclideanDistance } from './euclidean-distance.js';
export { createDistance } from './create-distance.js';

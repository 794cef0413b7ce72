// Miners and their one output format: re-exports only.
export { Miner, type MinerName, type MinerSpec } from './miner.js';
export {
  type Mined, type MinedPairs, type MinedTriplets, allPairs, allTriplets, checkMined, minedPairMasks, pairsFromMasks, toPairs,
  toTriplets, tripletsFromMasks,
} from './mined.js';
export { TripletMiner, mineTriplets, TRIPLET_MINING, type TripletMinerOptions, type TripletMining, type Triplets } from './triplet-miner.js';
export { MultiSimilarityMiner, multiSimilarityMine, type MultiSimilarityMinerOptions } from './multi-similarity-miner.js';
export { createMiner } from './create-miner.js';

export { ProcessGroup, DistributedError, distributedSupport, type ProcessGroupOptions, type ReduceOp } from './process-group.js';
export { DataParallel, type DataParallelOptions, type JoinOptions } from './data-parallel.js';
export { ShardedBatchSampler } from './sharded-sampler.js';
export { planBuckets, tensorBytes, DEFAULT_BUCKET_BYTES } from './buckets.js';
export { readDistributedEnv, parseRendezvous, INIT_METHOD_ENV, type DistributedEnv, type Rendezvous } from './environment.js';
export { launchWorkers, describeExit, type LaunchOptions, type LaunchResult, type WorkerExit } from './launcher.js';
export { runParallelJobs, threadsPerJob, type ParallelJob, type ParallelJobsOptions, type JobExit } from './parallel-jobs.js';
export { synchronizeBatchNorm, unsynchronizeBatchNorm } from './sync-batchnorm.js';

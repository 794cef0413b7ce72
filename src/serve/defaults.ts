// The server's default limits, apart from the server so that `deepmetric --help` and the other
// commands do not load fastify.
export const SERVE_DEFAULTS = {
  bodyLimit: 10 * 1024 * 1024, maxPixels: 40_000_000, maxFiles: 64, batchWaitMs: 5, maxBatch: 64, maxQueue: 256, timeoutMs: 30_000, k: 3,
} as const;

// Serving a detector over HTTP: re-exports only.
export { createServer, SERVE_DEFAULTS, type ServeOptions } from './server.js';
export { RequestBatcher, type BatcherOptions } from './request-batcher.js';
export { MetricsRegistry, Counter, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE, type Labels } from './metrics.js';
export { decodeUpload } from './decode-upload.js';
export { HttpError } from './http-error.js';

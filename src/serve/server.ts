// `createServer`: a detector (and optionally an image index) behind an HTTP API on fastify, with a
// web page at /. Concurrent requests are batched into one forward; admission is bounded (503 with
// Retry-After when full); each request has a deadline from its first byte to its answer; only the
// host names it is reached by are answered (DNS rebinding); bad input is a JSON error with the
// status that names it, never a crash or a leaked tensor; answers name training images relative to
// their data source, never by server paths. The caller owns the detector and the index (dispose
// them after close()); the CLI only wires this (src/cli/serve.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import sharp from 'sharp';
import type { AnomalyDetector, DetectorResult } from '../anomaly/anomaly-detector.js';
import type { ImageIndex, SearchHit } from '../search/image-index.js';
import type { Preprocessing } from '../data/preprocessing.js';
import { liveTensors } from '../tensor/memory.js';
import { decodeUpload } from './decode-upload.js';
import { hostChecker } from './allowed-host.js';
import { clientErrorHandler } from './client-error.js';
import { publicNames } from './public-name.js';
import { multipartLimits, readUploads, type Upload } from './read-uploads.js';
import { HttpError } from './http-error.js';
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { RequestBatcher } from './request-batcher.js';
import { loadPage, PAGE_FILES } from './static-page.js';
import { SERVE_DEFAULTS } from './defaults.js';

export interface ServeOptions {
  detector: AnomalyDetector;
  /** An image index for POST /v1/search (absent: that route answers 404). */
  index?: ImageIndex | null;
  /** When set, every route but /healthz and the page's static files needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body in bytes, all images together (default 10 MiB); more is 413. */
  bodyLimit?: number;
  /** Largest image in pixels (width × height, default 40 M), checked from the header before decoding; more is 422. */
  maxPixels?: number;
  /** Most images in one multipart request (default 64). */
  maxFiles?: number;
  /** How long the first image of a batch waits for others (ms, default 5). */
  batchWaitMs?: number;
  /** Most images per forward (default 64). */
  maxBatch?: number;
  /** Most requests admitted at once (reading, decoding, queued or being scored; default 256); more get 503 + Retry-After. */
  maxQueue?: number;
  /** Per-request deadline in ms (default 30,000), from the request's first byte: a request still arriving past it is 408 and its connection closed; one being processed is 503. */
  timeoutMs?: number;
  /** Host names answered besides localhost and IP addresses (the name listened on, say); `['*']`: any. Other Host headers get 403 (DNS rebinding). */
  allowedHosts?: string[];
  /** Nearest normal images per scored image unless ?k= says otherwise (default 3). */
  k?: number;
  /** fastify's logger option (default false). */
  logger?: boolean | Record<string, unknown>;
}

export { SERVE_DEFAULTS };

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const API_ROUTES = new Set(['/v1/score', '/v1/embed', '/v1/search']);
const RETRY_AFTER_S = '1';

interface ScoreItem { pixels: Buffer; k: number }

function checkOption(name: string, value: number, min: number, integer = true): number {
  if (typeof value !== 'number' || !(value >= min) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`serve: Expected ${name} ${integer ? 'an integer' : 'a number'} ≥ ${min} but received ${value}`);
  }
  return value;
}

/** The batch of one image per item, at the size p, as one NHWC buffer. */
const batchOf = (items: Buffer[], p: Preprocessing) => ({ images: Buffer.concat(items), size: items.length, height: p.height, width: p.width, channels: p.channels });

/**
 * The HTTP service of a detector (fastify): /v1/score, /v1/embed, /v1/search, /healthz, /metrics
 * and the page at /. Concurrent requests are batched into one forward.
 * @example
 * ```ts
 * const app = createServer({ detector: AnomalyDetector.load('detector.dmdet'), token: process.env.TOKEN });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * // later: await app.close();  (finishes the requests in flight)
 * ```
 */
export function createServer(o: ServeOptions): FastifyInstance {
  const { detector } = o;
  const index = o.index ?? null;
  const bodyLimit = checkOption('bodyLimit', o.bodyLimit ?? SERVE_DEFAULTS.bodyLimit, 1);
  const maxPixels = checkOption('maxPixels', o.maxPixels ?? SERVE_DEFAULTS.maxPixels, 1);
  const maxFiles = checkOption('maxFiles', o.maxFiles ?? SERVE_DEFAULTS.maxFiles, 1);
  const maxQueue = checkOption('maxQueue', o.maxQueue ?? SERVE_DEFAULTS.maxQueue, 1);
  const timeoutMs = checkOption('timeoutMs', o.timeoutMs ?? SERVE_DEFAULTS.timeoutMs, 1, false);
  const defaultK = checkOption('k', o.k ?? SERVE_DEFAULTS.k, 0);
  const batching = { waitMs: checkOption('batchWaitMs', o.batchWaitMs ?? SERVE_DEFAULTS.batchWaitMs, 0, false), maxBatch: checkOption('maxBatch', o.maxBatch ?? SERVE_DEFAULTS.maxBatch, 1) };
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) throw new TypeError('serve: Expected a non-empty token string but received an empty one');
  const tokenDigest = o.token ? createHash('sha256').update(o.token).digest() : null;
  const page = loadPage();
  const p = detector.preprocessing;
  const threshold = detector.threshold;
  const normalCount = detector.manifest.neighbours.count;
  const normalNames = publicNames(detector.manifest.neighbours.names, detector.manifest.dataset?.source);
  const indexNames = index ? publicNames(index.manifest.names, index.manifest.source) : null;
  const hostAllowed = hostChecker(o.allowedHosts ?? []);

  // ---- metrics ---------------------------------------------------------------------------------
  const metrics = new MetricsRegistry();
  const requests = metrics.counter('deepmetric_http_requests_total', 'HTTP requests answered, by route, method and status');
  const errors = metrics.counter('deepmetric_http_errors_total', 'HTTP requests answered with an error status, by route and class (client 4xx, server 5xx)');
  const latency = metrics.histogram('deepmetric_http_request_duration_seconds', 'Time from request to response, by route', LATENCY_BUCKETS);
  const batchSizes = metrics.histogram('deepmetric_batch_size', 'Images per forward pass, by queue (score, embed, search)', BATCH_BUCKETS);
  const batchSeconds = metrics.histogram('deepmetric_batch_duration_seconds', 'Time of one batched forward pass, by queue', LATENCY_BUCKETS);
  let admitted = 0;
  const onBatch = (queue: string) => (size: number, seconds: number) => {
    batchSizes.observe(size, { queue });
    batchSeconds.observe(seconds, { queue });
  };

  // ---- the batched computations ----------------------------------------------------------------
  const scoreQueue = new RequestBatcher<ScoreItem, DetectorResult>((items) => {
    const k = Math.max(...items.map((i) => i.k));
    return detector.score(batchOf(items.map((i) => i.pixels), p), { k, batchSize: batching.maxBatch })
      .map((r, i) => ({ ...r, neighbours: r.neighbours.slice(0, items[i].k) }));
  }, { ...batching, onBatch: onBatch('score') });
  const embedQueue = new RequestBatcher<Buffer, Float32Array>((items) => detector.embed(batchOf(items, p), { normalize: true, batchSize: batching.maxBatch }),
    { ...batching, onBatch: onBatch('embed') });
  const searchQueue = index
    ? new RequestBatcher<ScoreItem, SearchHit[]>((items) => {
      const k = Math.max(...items.map((i) => i.k));
      return index.search(batchOf(items.map((i) => i.pixels), index.preprocessing), k).map((hits, i) => hits.slice(0, items[i].k));
    }, { ...batching, onBatch: onBatch('search') })
    : null;
  const queues = { score: scoreQueue, embed: embedQueue, ...(searchQueue ? { search: searchQueue } : {}) };

  metrics.gauge('deepmetric_queue_depth', 'Images waiting for a forward pass, by queue', () => Object.entries(queues).map(([queue, q]) => [{ queue }, q.depth]));
  metrics.gauge('deepmetric_requests_in_flight', 'API requests admitted and not yet answered', () => admitted);
  metrics.gauge('deepmetric_queue_limit', 'Most API requests admitted at once (more get 503)', () => maxQueue);
  metrics.gauge('deepmetric_live_tensors', 'Native tensors alive in the process', () => liveTensors());
  metrics.gauge('process_resident_memory_bytes', 'Resident set size of the process', () => process.memoryUsage.rss());
  metrics.gauge('nodejs_memory_bytes', 'Node.js memory by kind (V8 heap used and total, external, array buffers)', () => {
    const m = process.memoryUsage();
    return [[{ kind: 'heap_used' }, m.heapUsed], [{ kind: 'heap_total' }, m.heapTotal], [{ kind: 'external' }, m.external], [{ kind: 'array_buffers' }, m.arrayBuffers]];
  });

  // ---- fastify ---------------------------------------------------------------------------------
  // Node's requestTimeout bounds a request's arrival (headers and body: a slow upload is 408 and its
  // socket destroyed, which frees its admission slot). It only acts when headersTimeout is no longer,
  // and is checked every connectionsCheckingInterval (30 s by default).
  const deadline = Math.ceil(timeoutMs);
  const app = Fastify({
    logger: o.logger ?? false, bodyLimit, requestTimeout: deadline, return503OnClosing: true, forceCloseConnections: 'idle',
    http: { headersTimeout: deadline, connectionsCheckingInterval: Math.min(1000, deadline) }, clientErrorHandler: clientErrorHandler(timeoutMs),
  });
  void app.register(multipart, { limits: multipartLimits(bodyLimit, maxFiles), throwFileSizeLimit: true });
  // Any other body arrives as bytes (an image, we hope); JSON and text keep their parsers and are refused as not images.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  /** Routes by path, for 405 answers with an Allow header. */
  const routeTable: Array<{ method: string; pattern: RegExp }> = [];
  const route = (method: 'GET' | 'POST', url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void => {
    routeTable.push({ method, pattern: new RegExp(`^${url.replace(/\./g, '\\.').replace(/:[a-z]+/g, '[^/]+')}$`) });
    app.route({ method, url, handler });
  };

  const isPublic = (request: FastifyRequest): boolean => {
    const url = request.routeOptions.url;
    return url === '/healthz' || (url !== undefined && Object.hasOwn(PAGE_FILES, url));
  };

  app.addHook('onRequest', async (request) => {
    if (hostAllowed(request.hostname)) return;
    const host = request.headers.host;
    throw new HttpError(403, 'HOST_NOT_ALLOWED', host
      ? `Host ${JSON.stringify(host)} is not a name this server answers to (a guard against DNS rebinding); start it with --allowed-hosts ${request.hostname} to answer it`
      : 'Expected a Host header but received none');
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!tokenDigest || isPublic(request)) return;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    if (m && timingSafeEqual(createHash('sha256').update(m[1]).digest(), tokenDigest)) return;
    reply.header('WWW-Authenticate', 'Bearer realm="deepmetric"');
    throw new HttpError(401, 'UNAUTHORIZED', m ? 'the bearer token is not the one this server expects' : 'Expected an Authorization: Bearer <token> header but received none');
  });

  // Admission: a bounded number of API requests at once, refused before their bodies are read.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || !API_ROUTES.has(request.routeOptions.url ?? '')) return;
    if (admitted >= maxQueue) {
      reply.header('Retry-After', RETRY_AFTER_S);
      throw new HttpError(503, 'QUEUE_FULL', `the server is busy: ${admitted} requests in progress (the limit is ${maxQueue}); retry after ${RETRY_AFTER_S} s`);
    }
    admitted++;
    reply.raw.once('close', () => {
      admitted--;
    });
  });

  // While closing, answers end their connections: a kept-alive idle connection would otherwise hold close() for the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    requests.inc(labels);
    if (reply.statusCode >= 400) errors.inc({ route: labels.route, class: reply.statusCode >= 500 ? 'server' : 'client' });
    latency.observe(reply.elapsedTime / 1000, { route: labels.route });
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    let status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    let message = error.message;
    const code = error.code ?? (status === 500 ? 'INTERNAL' : 'ERROR');
    // fastify's and @fastify/multipart's own 413s say only 'Request body is too large' or 'request file too large'.
    if (status === 413 && !(error instanceof HttpError)) message = `Expected a request body of at most ${bodyLimit} bytes (the body limit) but received more (${error.message})`;
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      message = `Expected an image body or multipart/form-data but received content type ${JSON.stringify(request.headers['content-type'])}`;
    }
    if (status === 503) reply.header('Retry-After', RETRY_AFTER_S);
    if (status >= 500 && code !== 'QUEUE_FULL' && code !== 'TIMEOUT') request.log.error(error);
    void reply.code(status).type('application/json; charset=utf-8').send({ error: message, code });
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = [...new Set(routeTable.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} ${path}: Expected ${allowed.join(' or ')}`);
    }
    throw new HttpError(404, 'NOT_FOUND', `${request.method} ${path}: no such route; see GET /v1/info and the README's Serve section`);
  });

  // ---- reading and decoding uploads --------------------------------------------------------------
  const decodeAll = (uploads: Upload[], prep: Preprocessing): Promise<Buffer[]> => Promise.all(uploads.map((u) => decodeUpload(u.data, u.name, prep, maxPixels)));

  /** Runs work until the request's deadline (counted from its arrival); aborted (and its queued images dropped) on timeout or when the client goes away. */
  async function withDeadline<T>(reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new HttpError(503, 'TIMEOUT', `the request did not finish within ${timeoutMs} ms; retry later`)), Math.max(0, timeoutMs - reply.elapsedTime));
    const gone = (): void => {
      if (!reply.raw.writableEnded) controller.abort(new HttpError(499, 'CLIENT_CLOSED', 'the client closed the connection'));
    };
    reply.raw.once('close', gone);
    const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }));
    try {
      return await Promise.race([work(controller.signal), aborted]);
    } finally {
      clearTimeout(timer);
      reply.raw.off('close', gone);
    }
  }

  function parseK(request: FastifyRequest, max: number, fallback: number, min: number): number {
    const raw = (request.query as Record<string, unknown>).k;
    if (raw === undefined) return Math.min(fallback, max);
    const k = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(k) || k < min || k > max) {
      throw new HttpError(400, 'BAD_K', `Expected k an integer between ${min} and ${max} but received ${JSON.stringify(raw)}`);
    }
    return k;
  }

  const neighbourImage = (i: number): string | null => (detector.hasNormalImages ? `/v1/normals/${i}.png` : null);

  // ---- routes --------------------------------------------------------------------------------------
  route('POST', '/v1/score', async (request, reply) => {
    const k = parseK(request, normalCount, defaultK, 0);
    const scored = await withDeadline(reply, async (signal) => {
      const uploads = await readUploads(request, bodyLimit, maxFiles);
      const pixels = await decodeAll(uploads, p);
      const results = await Promise.all(pixels.map((px) => scoreQueue.submit({ pixels: px, k }, signal)));
      return results.map((r, i) => ({ name: uploads[i].name, r }));
    });
    return {
      threshold, k,
      results: scored.map(({ name, r }) => ({
        name, score: r.score, threshold, verdict: r.anomalous ? 'anomaly' : 'normal',
        neighbours: r.neighbours.map((n) => ({ ...n, name: normalNames?.[n.index] ?? null, image: neighbourImage(n.index) })),
      })),
    };
  });

  route('POST', '/v1/embed', async (request, reply) => {
    const embedded = await withDeadline(reply, async (signal) => {
      const uploads = await readUploads(request, bodyLimit, maxFiles);
      const pixels = await decodeAll(uploads, p);
      const features = await Promise.all(pixels.map((px) => embedQueue.submit(px, signal)));
      return features.map((f, i) => ({ name: uploads[i].name, embedding: Array.from(f) }));
    });
    return { dim: embedded[0].embedding.length, normalized: true, results: embedded };
  });

  route('POST', '/v1/search', async (request, reply) => {
    if (!index || !searchQueue) throw new HttpError(404, 'NO_INDEX', 'this server has no image index; start it with --index FILE (written by deepmetric index)');
    const k = parseK(request, index.manifest.count, 5, 1);
    const found = await withDeadline(reply, async (signal) => {
      const uploads = await readUploads(request, bodyLimit, maxFiles);
      const pixels = await decodeAll(uploads, index.preprocessing);
      const hits = await Promise.all(pixels.map((px) => searchQueue.submit({ pixels: px, k }, signal)));
      return hits.map((h, i) => ({ name: uploads[i].name, hits: h.map((hit) => ({ ...hit, name: indexNames?.[hit.index] ?? null })) }));
    });
    return { k, results: found };
  });

  const thumbnails = new Map<number, Buffer>();
  route('GET', '/v1/normals/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    const m = /^(\d+)\.png$/.exec(file);
    const i = m ? Number(m[1]) : NaN;
    if (!m || i >= normalCount) throw new HttpError(404, 'NOT_FOUND', `Expected /v1/normals/<i>.png with i between 0 and ${normalCount - 1} but received ${JSON.stringify(file)}`);
    if (!detector.hasNormalImages) throw new HttpError(404, 'NO_NORMAL_IMAGES', 'this detector file stores no normal images (they were too many, or fitted with storeImages false)');
    let png = thumbnails.get(i);
    if (!png) {
      png = await sharp(Buffer.from(detector.normalImage(i)!), { raw: { width: p.width, height: p.height, channels: p.channels } }).png().toBuffer();
      if (thumbnails.size < 4096) thumbnails.set(i, png);
    }
    return reply.type('image/png').header('Cache-Control', 'private, max-age=3600').send(png);
  });

  route('GET', '/v1/info', async () => {
    const m = detector.manifest;
    return {
      detector: {
        method: m.method.kind === 'embedding' ? { kind: 'embedding', backbone: m.method.backbone.name, head: m.method.head.name, scorer: m.method.scorer.name } : { kind: 'autoencoder' },
        classes: m.classes, normal_classes: m.normal_classes, threshold: m.threshold, preprocessing: m.preprocessing,
        normals: normalCount, normal_images: detector.hasNormalImages, validation: m.validation, created: m.created,
      },
      index: index ? { count: index.manifest.count, kind: index.manifest.kind, classes: index.manifest.classes, preprocessing: index.preprocessing } : null,
      limits: { body_bytes: bodyLimit, max_pixels: maxPixels, max_files: maxFiles, max_queue: maxQueue, timeout_ms: timeoutMs, batch_wait_ms: batching.waitMs, max_batch: batching.maxBatch },
      auth: tokenDigest !== null,
    };
  });

  route('GET', '/healthz', async () => ({ status: 'ok', uptime_s: Math.round(process.uptime()), in_flight: admitted }));

  route('GET', '/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(metrics.render()));

  for (const [url, f] of page) {
    route('GET', url, async (_request, reply) => reply
      .type(f.contentType)
      .header('Cache-Control', 'no-cache')
      .header('Content-Security-Policy', "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'")
      .header('X-Content-Type-Options', 'nosniff')
      .send(f.body));
  }

  return app;
}

// `deepmetric serve`: a detector (and optionally an image index) behind an HTTP API and a web
// page (src/serve/). This file only wires options to createServer and handles the signals:
// SIGTERM or SIGINT stops accepting, finishes the requests in flight (for at most --timeout-ms,
// then closes the connections still open), then exits 0.
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { AnomalyDetector } from '../anomaly/anomaly-detector.js';
import { ImageIndex } from '../search/image-index.js';
import { SERVE_DEFAULTS } from '../serve/defaults.js';
import { type CommandSpec, parseOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';
import { commandInterrupt } from './interrupt.js';

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'Serve a detector over HTTP: POST /v1/score, /v1/embed, /v1/search; /metrics; a web page at /',
  options: {
    detector: { type: 'string', description: 'A detector file (detector.dmdet from fit-detector or anomaly --out; required)' },
    index: { type: 'string', description: 'An image index (from deepmetric index) for POST /v1/search' },
    host: { type: 'string', default: '127.0.0.1', description: 'Address to listen on (any but a loopback address exposes the server to the network: use --token)' },
    'allowed-hosts': { type: 'list', description: 'Host header names answered besides localhost, --host and IP addresses (* for any); others get 403, against DNS rebinding' },
    port: { type: 'number', integer: true, min: 0, default: 8080, description: 'Port (0: any free port, printed)' },
    token: { type: 'string', env: 'DEEPMETRIC_SERVE_TOKEN', description: 'Require Authorization: Bearer TOKEN on every route but /healthz and the page files (the env variable keeps it out of ps)' },
    'body-limit-mb': { type: 'number', min: 0.001, default: SERVE_DEFAULTS.bodyLimit / 2 ** 20, description: 'Largest request body in MiB (413 beyond)' },
    'max-pixels': { type: 'number', integer: true, min: 1, default: SERVE_DEFAULTS.maxPixels, description: 'Largest image in pixels, checked before decoding (422 beyond)' },
    'batch-wait-ms': { type: 'number', min: 0, default: SERVE_DEFAULTS.batchWaitMs, description: 'How long an image waits for others to share its forward pass' },
    'max-batch': { type: 'number', integer: true, min: 1, default: SERVE_DEFAULTS.maxBatch, description: 'Most images per forward pass' },
    'max-queue': { type: 'number', integer: true, min: 1, default: SERVE_DEFAULTS.maxQueue, description: 'Most API requests in progress at once (503 with Retry-After beyond)' },
    'timeout-ms': { type: 'number', min: 1, default: SERVE_DEFAULTS.timeoutMs, description: 'Per-request deadline from its first byte (408 while still arriving, 503 after); also the most a shutdown waits' },
    k: { type: 'number', integer: true, min: 0, default: SERVE_DEFAULTS.k, description: 'Nearest normal images per scored image (a request may ask ?k=)' },
    log: { type: 'boolean', default: false, description: 'Log every request as a JSON line on stdout' },
    threads: { ...TRAINING_OPTIONS.threads, description: 'libtorch intra-op threads (default: every core but one, which the event loop needs for HTTP and decoding)' },
  },
  examples: [
    'deepmetric serve --detector runs/detector/detector.dmdet',
    'deepmetric serve --detector detector.dmdet --index photos.dmidx --port 9000',
    'DEEPMETRIC_SERVE_TOKEN=s3cret deepmetric serve --detector detector.dmdet --host 0.0.0.0 --allowed-hosts scorer.example.com',
  ],
};

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Runs until SIGTERM/SIGINT (or opts.signal), then closes gracefully; resolves with the address it served. */
export async function serveCommand(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<{ url: string }> {
  const o = parseOptions(serveSpec, argv);
  if (!o.detector) throw new UsageError('Expected --detector PATH but received none');
  // Measured on 2 cores (bench/serve.ts): 1 libtorch thread served 809 img/s at p50 39 ms, 2 threads
  // 552 img/s at p50 56 ms — OpenMP workers spinning between small batches took the event loop's core.
  applyRuntime({ ...o, device: 'cpu', threads: o.threads ?? Math.max(1, availableParallelism() - 1) });
  // Uploads are all different: libvips's operation cache would only grow the resident memory.
  sharp.cache(false);
  const host = o.host as string;
  const timeoutMs = o['timeout-ms'] as number;
  if (!isLoopback(host)) {
    process.stderr.write(`deepmetric serve: listening on ${host}, reachable from other machines${o.token ? '' : ' without a token (set --token or DEEPMETRIC_SERVE_TOKEN)'}`
      + `${o['allowed-hosts'] ? '' : '; clients that name the server by a DNS name need it in --allowed-hosts'}\n`);
  }
  const detector = AnomalyDetector.load(resolve(o.detector as string));
  let index: ImageIndex | null = null;
  try {
    index = o.index ? ImageIndex.load(resolve(o.index as string)) : null;
    // Loaded here, not at the top: the other commands need not load fastify.
    const { createServer } = await import('../serve/server.js');
    const app = createServer({
      detector, index, token: o.token as string | undefined, bodyLimit: Math.round((o['body-limit-mb'] as number) * 2 ** 20),
      maxPixels: o['max-pixels'] as number, batchWaitMs: o['batch-wait-ms'] as number, maxBatch: o['max-batch'] as number,
      maxQueue: o['max-queue'] as number, timeoutMs, k: o.k as number, logger: o.log as boolean,
      allowedHosts: [host, ...((o['allowed-hosts'] as string[] | undefined) ?? [])],
    });
    const stopped = new Promise<string>((done) => {
      const stop = (why: string) => () => done(why);
      commandInterrupt.standAside(); // this command closes gracefully on SIGINT and exits 0
      const onTerm = stop('SIGTERM');
      const onInt = stop('SIGINT');
      process.once('SIGTERM', onTerm);
      process.once('SIGINT', onInt);
      opts.signal?.addEventListener('abort', stop('abort'), { once: true });
      void app.addHook('onClose', async () => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
      });
    });
    try {
      await app.listen({ host, port: o.port as number });
    } catch (e) {
      await app.close();
      throw new Error(`cannot listen on ${host}:${o.port}: ${(e as Error).message}`);
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : o.port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const m = detector.manifest;
    process.stdout.write(`deepmetric serve: listening on ${url} — detector ${o.detector} (threshold ${m.threshold.value.toPrecision(6)}, ${m.neighbours.count} normal images)`
      + `${index ? `, index ${o.index} (${index.manifest.count} images)` : ''}${o.token ? ', bearer token required' : ''}\n`);
    const why = await stopped;
    process.stderr.write(`deepmetric serve: ${why}: finishing the requests in flight…\n`);
    // A request in flight is past its deadline after --timeout-ms: what still holds a connection then
    // (a client that stopped sending or reading) is cut, so that shutdown ends.
    const grace = setTimeout(() => {
      process.stderr.write(`deepmetric serve: closing the connections still open after ${timeoutMs} ms\n`);
      app.server.closeAllConnections();
    }, timeoutMs);
    try {
      await app.close();
    } finally {
      clearTimeout(grace);
    }
    process.stderr.write('deepmetric serve: stopped\n');
    return { url };
  } finally {
    index?.dispose();
    detector.dispose();
  }
}

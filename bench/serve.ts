// Serve benchmark: `deepmetric serve` as a child process on loopback, loaded by 32 concurrent
// clients (keep-alive) sending single 32×32 JPEGs to POST /v1/score, against offline scoring of
// the same files with the same detector (scoreImageFiles, what `deepmetric score` runs).
// Keys serve.*: errors (goal 0), p50/p99 latency, images/s and its ratio to offline (goal ≥ 0.7),
// the mean batch size, and the server's RSS after the run vs after warm-up (goal within 10%).
//   npx tsc -p . && node dist/bench/serve.js [--requests 2000] [--clients 32] [--normals 5000] [--batch-wait-ms 5] [--server-threads N] (default: serve's own, every core but one)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { AnomalyDetector } from '../src/anomaly/anomaly-detector.js';
import { fitNoiseDetector, noiseImages } from './noise-detector.js';
import { scoreImageFiles } from '../src/anomaly/score-files.js';

export interface ServeBench {
  requests: number;
  clients: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  images_per_s: number;
  offline_images_per_s: number;
  ratio_to_offline: number;
  mean_batch: number;
  rss_warm_mb: number;
  rss_after_mb: number;
  rss_growth_pct: number;
  live_tensors_delta: number;
  server_cpu_ms_per_request: number;
  client_cpu_ms_per_request: number;
}

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function post(agent: Agent, port: number, body: Buffer): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/score', method: 'POST', agent, headers: { 'content-type': 'image/jpeg', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    req.end(body);
  });
}

/** n requests from `clients` concurrent loops over the JPEGs; the status and latency of each. */
async function load(port: number, jpegs: Buffer[], n: number, clients: number): Promise<{ statuses: number[]; latencies: number[]; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const statuses: number[] = [];
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < n) {
      const i = next++;
      const r = await post(agent, port, jpegs[i % jpegs.length]);
      statuses.push(r.status);
      latencies.push(r.ms);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { statuses, latencies, seconds };
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const pick = (re: RegExp): number => Number(text.split('\n').find((l) => re.test(l))?.split(' ').pop() ?? NaN);
  return {
    rss: pick(/^process_resident_memory_bytes /),
    batches: pick(/^deepmetric_batch_size_count\{queue="score"\}/),
    images: pick(/^deepmetric_batch_size_sum\{queue="score"\}/),
    live: pick(/^deepmetric_live_tensors /),
    heap: pick(/^nodejs_memory_bytes\{kind="heap_total"\}/),
    external: pick(/^nodejs_memory_bytes\{kind="external"\}/),
  };
}

/** The seed's model (MobileNetV2 α 0.5, untrained: speed does not depend on the weights) with a kNN detector over `normals` images. */
export async function serveBench(o: { requests?: number; clients?: number; normals?: number; warmup?: number; batchWaitMs?: number; threads?: number; log?: (s: string) => void } = {}): Promise<ServeBench> {
  const requests = o.requests ?? 2000;
  const clients = o.clients ?? 32;
  const normals = o.normals ?? 5000;
  // RSS settles after ≈ 500–1000 requests (allocator arenas, V8 heap, per-shape kernel caches), then stays flat.
  const warmup = o.warmup ?? Math.min(500, requests);
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-serve-'));
  try {
    log(`serve bench: ${requests} JPEG files…`);
    const folder = join(dir, 'images');
    mkdirSync(folder);
    const distinct = Math.min(requests, 1000);
    const pixels = noiseImages(distinct, 7);
    const jpegs: Buffer[] = [];
    for (let i = 0; i < distinct; i++) {
      jpegs.push(await sharp(Buffer.from(pixels.images.buffer, i * 3072, 3072), { raw: { width: 32, height: 32, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    }
    for (let i = 0; i < requests; i++) writeFileSync(join(folder, `${String(i).padStart(6, '0')}.jpg`), jpegs[i % distinct]);

    log(`serve bench: fitting a kNN detector on ${normals} images…`);
    const fitted = fitNoiseDetector(normals);
    const path = join(dir, 'detector.dmdet');
    await fitted.save(path);
    fitted.dispose();

    log(`serve bench: offline scoring of the ${requests} files…`);
    const offline = AnomalyDetector.load(path);
    let offlineRate: number;
    try {
      await scoreImageFiles(offline, [join(folder, '000000.jpg'), join(folder, '000001.jpg')]);
      const t = performance.now();
      const scored = await scoreImageFiles(offline, [folder]);
      offlineRate = scored.length / ((performance.now() - t) / 1000);
      if (scored.some((r) => r.error)) throw new Error('serve bench: offline scoring failed on some files');
    } finally {
      offline.dispose();
    }

    // serve's own thread default (every core but one) unless the caller names a count.
    const env = { ...process.env };
    delete env.DEEPMETRIC_NUM_THREADS;
    const child = spawn(process.execPath, [CLI, 'serve', '--detector', path, '--port', '0', ...(o.threads ? ['--threads', String(o.threads)] : []),
      ...(o.batchWaitMs !== undefined ? ['--batch-wait-ms', String(o.batchWaitMs)] : [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`serve bench: the server exited: ${stderr}`)));
      });
      log(`serve bench: warm-up, ${warmup} requests…`);
      const warm = await load(port, jpegs, warmup, clients);
      if (warm.statuses.some((s) => s !== 200)) throw new Error(`serve bench: warm-up requests failed: ${[...new Set(warm.statuses)].join(', ')}`);
      const before = await metrics(port);
      log(`serve bench: ${requests} requests from ${clients} clients…`);
      const serverCpu0 = processCpuMs(child.pid!);
      const clientCpu0 = process.cpuUsage();
      const run = await load(port, jpegs, requests, clients);
      const clientCpu = process.cpuUsage(clientCpu0);
      const serverCpuMs = processCpuMs(child.pid!) - serverCpu0;
      const afterRun = await metrics(port);
      const sorted = [...run.latencies].sort((a, b) => a - b);
      const rate = requests / run.seconds;
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`serve bench: the server exited with ${code} after SIGTERM: ${stderr}`);
      return {
        requests, clients, errors: run.statuses.filter((s) => s !== 200).length,
        p50_ms: quantile(sorted, 0.5), p99_ms: quantile(sorted, 0.99),
        images_per_s: rate, offline_images_per_s: offlineRate, ratio_to_offline: rate / offlineRate,
        mean_batch: (afterRun.images - before.images) / (afterRun.batches - before.batches),
        rss_warm_mb: before.rss / 2 ** 20, rss_after_mb: afterRun.rss / 2 ** 20, rss_growth_pct: (100 * (afterRun.rss - before.rss)) / before.rss,
        live_tensors_delta: afterRun.live - before.live,
        // Where the 2 cores went: the server's CPU per request, and the load generator's (same machine).
        server_cpu_ms_per_request: serverCpuMs / requests, client_cpu_ms_per_request: (clientCpu.user + clientCpu.system) / 1000 / requests,
      };
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** User + system CPU time of a process, in ms, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string): number | undefined => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const r = await serveBench({ threads: arg('--server-threads'), requests: arg('--requests'), clients: arg('--clients'), normals: arg('--normals'), warmup: arg('--warmup'), batchWaitMs: arg('--batch-wait-ms') });
  process.stdout.write(`${JSON.stringify({ serve: r }, null, 2)}\n`);
}

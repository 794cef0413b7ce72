// `deepmetric serve` probed as an attacker would (issue 22): uploads that stall after a few bytes,
// a signal while one is open, a web page that rebinds its DNS name to 127.0.0.1, malformed
// multipart bodies, and answers that would name the server's own files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { badInput, cliPath, tempDir } from './bad-input.js';
import { createServer, type ServeOptions } from '../../src/serve/server.js';
import type { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { fitDetector } from '../../src/anomaly/fit-detector.js';
import { ImageIndex } from '../../src/search/image-index.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { createHead } from '../../src/losses/registry.js';
import { manualSeed } from '../../src/index.js';
import { perturbLikeTrained } from '../export/onnx-helpers.js';
import { BLUE, colourSet, encodeImage, RED, tinyDetector } from '../serve/tiny-detector.js';

const root = tempDir('serve');
const png = encodeImage(colourSet(1, RED, 4, 'q'), 0);

interface Answer { status: number; text: string; json: () => Record<string, any> }

/** An HTTP request with any Host header (fetch does not let a caller set it). */
function call(url: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const score = async (url: string): Promise<Answer> =>
  call(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await png });

/** Uploads that promise 1000 bytes and stop after 3 (a slow-loris client), with what the server answered. */
function stalledUploads(url: string, n: number): Array<{ socket: Socket; answer: string }> {
  const { hostname, port } = new URL(url);
  return Array.from({ length: n }, () => {
    const upload = { socket: connect(Number(port), hostname), answer: '' };
    upload.socket.on('error', () => {});
    upload.socket.on('data', (d) => { upload.answer += d; });
    upload.socket.write(`POST /v1/score HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nabc`);
    return upload;
  });
}

async function listen(o: ServeOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = createServer(o);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** Polls until `ok` or the deadline; the last value either way. */
async function until<T>(deadlineMs: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const v = await get();
    if (ok(v) || performance.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

let detectorFile: Promise<string> | undefined;
/** The tiny detector saved once for the command-line cases. */
function savedDetector(): Promise<string> {
  detectorFile ??= (async () => {
    const detector = tinyDetector('knn');
    const path = join(root, 'detector.dmdet');
    try {
      await detector.save(path);
    } finally {
      detector.dispose();
    }
    return path;
  })();
  return detectorFile;
}

/** `deepmetric serve` as a child: its URL once listening, and its exit. */
async function serveChild(args: string[]) {
  const child = spawn(process.execPath, [cliPath, 'serve', '--detector', await savedDetector(), '--port', '0', '--threads', '1', ...args], {
    env: { ...process.env, DEEPMETRIC_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+:\d+)/.exec(stdout);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`serve exited before listening: ${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

badInput('serve/slow-upload-slots', 'uploads that stall after 3 bytes lose their admission slots at the deadline: a valid request is then answered', async () => {
  const detector = tinyDetector('knn');
  const { app, url } = await listen({ detector, maxQueue: 4, timeoutMs: 1500 });
  const stalled = stalledUploads(url, 6);
  try {
    assert.equal((await until(5_000, () => score(url), (a) => a.status === 503)).status, 503, 'the stalled uploads hold every slot');
    // Before the fix they held the slots for as long as they stayed open.
    const answer = await until(20_000, () => score(url), (a) => a.status !== 503);
    assert.equal(answer.status, 200, answer.text);
    assert.ok(await until(5_000, async () => stalled.every((s) => s.socket.destroyed), (cut) => cut), 'the stalled uploads were cut');
    const timedOut = stalled.filter((s) => s.answer.startsWith('HTTP/1.1 408'));
    assert.equal(timedOut.length, 4, 'each admitted upload was answered 408');
    assert.match(timedOut[0].answer, /\{"error":"the request was not received in full within 1500 ms \(the server's deadline\)","code":"REQUEST_TIMEOUT"\}$/);
  } finally {
    for (const s of stalled) s.socket.destroy();
    await app.close();
    detector.dispose();
  }
});

badInput('serve/sigterm-stalled-upload', 'SIGTERM with a stalled upload open exits 0 within the shutdown deadline instead of waiting for the client', async () => {
  const serve = await serveChild(['--timeout-ms', '2000']);
  const [stalled] = stalledUploads(serve.url, 1);
  try {
    await until(5_000, async () => (await call(`${serve.url}/healthz`)).json().in_flight, (n) => n === 1);
    serve.child.kill('SIGTERM');
    const deadline = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000));
    const exit = await Promise.race([serve.exited, deadline]);
    assert.deepEqual(exit, { code: 0, signal: null }, serve.stderr());
  } finally {
    stalled.socket.destroy();
    serve.child.kill('SIGKILL');
  }
});

badInput('serve/dns-rebinding-host', 'a request whose Host is a foreign name (a DNS-rebinding page) is 403 on every route; the bound names still work', async () => {
  const detector = tinyDetector('knn');
  const { app, url } = await listen({ detector });
  const port = new URL(url).port;
  try {
    for (const path of ['/v1/info', '/metrics', '/v1/normals/0.png', '/']) {
      const a = await call(`${url}${path}`, { headers: { host: `attacker.example:${port}` } });
      assert.equal(a.status, 403, `${path}: ${a.text}`);
      assert.equal(a.json().code, 'HOST_NOT_ALLOWED');
      assert.match(a.json().error, /Host "attacker\.example:\d+" is not a name this server answers to .*--allowed-hosts attacker\.example/);
    }
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      assert.equal((await call(`${url}/v1/normals/0.png`, { headers: { host } })).status, 200, host);
    }
  } finally {
    await app.close();
    detector.dispose();
  }
  // allowedHosts ['*'] (--allowed-hosts '*') answers any name.
  const any = tinyDetector('knn');
  const open = await listen({ detector: any, allowedHosts: ['*'] });
  try {
    assert.equal((await call(`${open.url}/v1/info`, { headers: { host: 'attacker.example' } })).status, 200);
  } finally {
    await open.app.close();
    any.dispose();
  }
});

badInput('serve/allowed-hosts-flag', '--allowed-hosts adds names the server answers to; others stay 403; --help documents it', async () => {
  const help = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'serve', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', () => resolve(out));
  });
  assert.match(help, /--allowed-hosts a,b,… +Host header names answered besides localhost, --host and IP addresses \(\* for any\)/);
  const serve = await serveChild(['--allowed-hosts', 'scorer.example,files.example']);
  try {
    const port = new URL(serve.url).port;
    assert.equal((await call(`${serve.url}/v1/info`, { headers: { host: `files.example:${port}` } })).status, 200);
    assert.equal((await call(`${serve.url}/v1/info`, { headers: { host: 'scorer.example' } })).status, 200);
    assert.equal((await call(`${serve.url}/v1/info`, { headers: { host: 'attacker.example' } })).status, 403);
  } finally {
    serve.child.kill('SIGKILL');
  }
});

badInput('serve/malformed-multipart', 'a multipart body that does not parse is 400 with the reason, not 500, and is no server error in /metrics', async () => {
  const detector = tinyDetector('knn');
  const { app, url } = await listen({ detector, maxFiles: 2 });
  const b = 'XyZ';
  const disposition = 'Content-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n';
  const cases: Array<[string, string, string]> = [
    ['cut short', `multipart/form-data; boundary=${b}`, `--${b}\r\n${disposition}abc`],
    ['no closing boundary', `multipart/form-data; boundary=${b}`, `--${b}\r\n${disposition}abc\r\n--${b}`],
    ['no boundary parameter', 'multipart/form-data', 'abc'],
    ['not multipart at all', `multipart/form-data; boundary=${b}`, 'hello world'],
  ];
  try {
    for (const [what, type, body] of cases) {
      const a = await call(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': type }, body });
      assert.equal(a.status, 400, `${what}: ${a.text}`);
      assert.equal(a.json().code, 'BAD_MULTIPART', what);
      assert.match(a.json().error, /^Expected a well-formed multipart\/form-data body but it does not parse: \S/, what);
    }
    // @fastify/multipart's own "reach files limit" becomes a message naming the limit.
    const part = (i: number) => `--${b}\r\n${disposition.replace('a.png', `${i}.png`)}abc\r\n`;
    const three = `${part(0)}${part(1)}${part(2)}--${b}--\r\n`;
    const tooMany = await call(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: three });
    assert.equal(tooMany.status, 413, tooMany.text);
    assert.equal(tooMany.json().error, 'Expected at most 2 files in one multipart body but received more');
    const metrics = (await call(`${url}/metrics`)).text;
    assert.doesNotMatch(metrics, /deepmetric_http_errors_total\{route="\/v1\/score",class="server"\}/);
    assert.match(metrics, /deepmetric_http_errors_total\{route="\/v1\/score",class="client"\} 5/);
  } finally {
    await app.close();
    detector.dispose();
  }
});

/** A detector fitted on images named as the data loader names them: `<archive>:<entry>`. */
function detectorFrom(source: string): AnomalyDetector {
  manualSeed(5);
  const normal = colourSet(24, RED, 1, 'normal');
  const model = createEmbeddingNet({ name: 'convnet' });
  perturbLikeTrained(model, { channels: 3, height: 32, width: 32 });
  const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 2 });
  try {
    return fitDetector({
      method: { kind: 'embedding', model, backbone: { name: 'convnet' }, head, scorer: 'knn', scorerOptions: { k: 3 } },
      normal: { ...normal, files: normal.files!.map((f) => `${source}:train/red/${f}`) }, validation: colourSet(12, RED, 2, 'val'), anomalies: colourSet(8, BLUE, 3, 'anomaly'),
      classes: ['red', 'blue'], normalization: { kind: 'unit' }, source,
    });
  } finally {
    model.dispose();
    head.dispose();
  }
}

badInput('serve/no-server-paths', 'neighbours and search hits are named relative to their data source, never by the server\'s absolute paths', async () => {
  const archive = '/srv/secret/cifar10-jpeg.tar.gz';
  const detector = detectorFrom(archive);
  // An index of a folder, and names under no known source (its file's base name then).
  const indexed = colourSet(6, RED, 13, 'indexed');
  const model = createEmbeddingNet({ name: 'convnet' });
  const build = (files: string[], source: string) =>
    ImageIndex.build({ model, backbone: { name: 'convnet' }, data: { ...indexed, files }, normalization: { kind: 'unit' }, source });
  const index = build(indexed.files!.map((f) => `/home/alice/photos/red/${f}`), '/home/alice/photos');
  const elsewhere = build(indexed.files!.map((f) => `/home/alice/other/${f}`), 'unknown');
  model.dispose();
  const { app, url } = await listen({ detector, index });
  const other = await listen({ detector, index: elsewhere });
  try {
    const scored = await score(url);
    assert.equal(scored.status, 200, scored.text);
    const neighbours = scored.json().results[0].neighbours as Array<{ index: number; name: string }>;
    assert.ok(neighbours.length > 0);
    for (const n of neighbours) assert.equal(n.name, `train/red/normal-${n.index}.png`);
    const search = async (u: string) => {
      const a = await call(`${u}/v1/search?k=3`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await png });
      assert.equal(a.status, 200, a.text);
      return a.json().results[0].hits as Array<{ index: number; name: string }>;
    };
    for (const h of await search(url)) assert.equal(h.name, `red/indexed-${h.index}.png`);
    for (const h of await search(other.url)) assert.equal(h.name, `indexed-${h.index}.png`);
    for (const u of [url, other.url]) {
      const info = (await call(`${u}/v1/info`)).text;
      assert.doesNotMatch(info, /\/srv\/|\/home\//, 'no server path in /v1/info');
    }
  } finally {
    await app.close();
    await other.app.close();
    index.dispose();
    elsewhere.dispose();
    detector.dispose();
  }
});

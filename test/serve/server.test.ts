// createServer over real HTTP on 127.0.0.1: scores, embeddings and search against the detector's
// and the index's own results; every kind of bad request answered with its status and a JSON
// error while a concurrent valid request still succeeds; batching (batch-size metric > 1);
// the bounded queue (503 + Retry-After); the deadline; bearer-token auth; the page's files; no
// tensor leaked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { liveTensors } from '../../src/index.js';
import { createServer, type ServeOptions } from '../../src/serve/server.js';
import type { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { ImageIndex } from '../../src/search/image-index.js';
import { createEmbeddingNet } from '../../src/models/registry.js';
import { prepareImage } from '../../src/data/preprocessing.js';
import { BLUE, colourSet, encodeImage, RED, tinyDetector } from './tiny-detector.js';
import { decompressionBombPng, notAnImage, truncated } from './bad-images.js';

let detector: AnomalyDetector;
let index: ImageIndex;
let baseTensors = 0;
const red = colourSet(4, RED, 11, 'query-red');
const blue = colourSet(2, BLUE, 12, 'query-blue');
const indexed = colourSet(10, RED, 13, 'indexed');
let redPng: Buffer;
let bluePng: Buffer;
let redJpeg: Buffer;

before(async () => {
  detector = tinyDetector('knn');
  const model = createEmbeddingNet({ name: 'convnet' });
  try {
    index = ImageIndex.build({ model, backbone: { name: 'convnet' }, data: indexed, normalization: { kind: 'unit' } });
  } finally {
    model.dispose();
  }
  redPng = await encodeImage(red, 0);
  bluePng = await encodeImage(blue, 0);
  redJpeg = await encodeImage(red, 1, 'jpeg');
  baseTensors = liveTensors();
});

after(() => {
  index.dispose();
  detector.dispose();
});

async function start(o: Partial<ServeOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = createServer({ detector, ...o });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

interface Answer { status: number; body: Record<string, any>; headers: Headers }

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers };
}

const post = (url: string, body: Buffer | string, type = 'image/png', headers: Record<string, string> = {}): Promise<Answer> =>
  call(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': type, ...headers } });

function form(files: Array<[string, Buffer, string]>): FormData {
  const f = new FormData();
  for (const [name, data, type] of files) f.append('image', new Blob([new Uint8Array(data)], { type }), name);
  return f;
}

/** The detector's own result for an encoded image, decoded the same way. */
async function offline(encoded: Buffer, k = 3) {
  const px = await prepareImage(encoded, 'x', detector.preprocessing);
  return detector.score({ images: px, size: 1, height: 32, width: 32, channels: 3 }, { k })[0];
}

async function metricValue(url: string, pattern: RegExp): Promise<number> {
  const text = (await call(`${url}/metrics`)).body.text as string;
  const line = text.split('\n').find((l) => pattern.test(l));
  return line ? Number(line.split(' ').pop()) : NaN;
}

test('score, several images per multipart request, embed and search agree with the detector and the index', async () => {
  const { app, url } = await start({ index });
  try {
    const one = await post(`${url}/v1/score?name=red.png`, redPng);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const expected = await offline(redPng);
    const r = one.body.results[0];
    assert.equal(r.name, 'red.png');
    assert.ok(Math.abs(r.score - expected.score) <= 1e-5 * Math.max(1, Math.abs(expected.score)), `${r.score} vs ${expected.score}`);
    assert.equal(r.threshold, detector.threshold);
    assert.equal(r.verdict, expected.anomalous ? 'anomaly' : 'normal');
    assert.deepEqual(r.neighbours.map((n: { index: number }) => n.index), expected.neighbours.map((n) => n.index));
    assert.equal(r.neighbours[0].image, `/v1/normals/${expected.neighbours[0].index}.png`);

    // Several images in one multipart request, in order; blue is far from the red normals.
    const many = await call(`${url}/v1/score?k=2`, { method: 'POST', body: form([['a.png', redPng, 'image/png'], ['b.png', bluePng, 'image/png'], ['c.jpg', redJpeg, 'image/jpeg']]) });
    assert.equal(many.status, 200, JSON.stringify(many.body));
    assert.deepEqual(many.body.results.map((x: { name: string }) => x.name), ['a.png', 'b.png', 'c.jpg']);
    assert.equal(many.body.results[1].verdict, 'anomaly');
    assert.ok(many.body.results[1].score > many.body.results[0].score);
    assert.ok(many.body.results.every((x: { neighbours: unknown[] }) => x.neighbours.length === 2));

    // The thumbnail of a neighbour is that normal training image.
    const thumb = await fetch(`${url}${r.neighbours[0].image}`);
    assert.equal(thumb.headers.get('content-type'), 'image/png');
    const thumbPixels = await sharp(Buffer.from(await thumb.arrayBuffer())).raw().toBuffer();
    assert.deepEqual(Array.from(thumbPixels), Array.from(detector.normalImage(expected.neighbours[0].index)!));

    const embedded = await post(`${url}/v1/embed`, redPng);
    assert.equal(embedded.status, 200);
    const px = await prepareImage(redPng, 'x', detector.preprocessing);
    const own = detector.embed({ images: px, size: 1, height: 32, width: 32, channels: 3 }, { normalize: true })[0];
    assert.equal(embedded.body.dim, own.length);
    embedded.body.results[0].embedding.forEach((v: number, i: number) => assert.ok(Math.abs(v - own[i]) <= 1e-6, `embedding[${i}]`));

    // An indexed image finds itself at distance ≈ 0.
    const found = await post(`${url}/v1/search?k=2`, await encodeImage(indexed, 7));
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.equal(found.body.results[0].hits[0].name, 'indexed-7.png');
    assert.ok(Math.abs(found.body.results[0].hits[0].distance) < 1e-4);
    assert.equal(found.body.results[0].hits.length, 2);
  } finally {
    await app.close();
  }
  assert.equal(liveTensors(), baseTensors, 'no tensor leaked');
});

test('every kind of bad request gets its status and a JSON error naming the cause, while a concurrent valid request succeeds; nothing leaks', async () => {
  const bodyLimit = 256 * 1024;
  const { app, url } = await start({ bodyLimit, maxPixels: 4_000_000 });
  try {
    const big = Buffer.alloc(bodyLimit + 1024, 7);
    const cases: Array<{ what: string; send: () => Promise<Answer>; status: number; error: RegExp }> = [
      { what: 'body over the limit', send: () => post(`${url}/v1/score`, big), status: 413, error: /at most 262144 bytes/ },
      { what: 'multipart file over the limit', send: () => call(`${url}/v1/score`, { method: 'POST', body: form([['big.png', big, 'image/png']]) }), status: 413, error: /at most 262144 bytes/ },
      { what: 'not an image', send: () => post(`${url}/v1/score`, notAnImage(), 'application/octet-stream'), status: 415, error: /no image format/ },
      { what: 'JSON body', send: () => post(`${url}/v1/score`, JSON.stringify({ image: 'x' }), 'application/json'), status: 415, error: /Expected an image body/ },
      { what: 'text body', send: () => post(`${url}/v1/embed`, 'hello', 'text/plain'), status: 415, error: /Expected an image body/ },
      { what: 'empty body', send: () => post(`${url}/v1/score`, Buffer.alloc(0)), status: 400, error: /empty body/ },
      { what: 'truncated PNG', send: () => post(`${url}/v1/score`, truncated(redPng)), status: 422, error: /cannot decode the image/ },
      { what: 'truncated JPEG', send: () => post(`${url}/v1/score`, truncated(redJpeg), 'image/jpeg'), status: 422, error: /image/ },
      { what: 'decompression bomb', send: () => post(`${url}/v1/score?name=bomb.png`, decompressionBombPng()), status: 422, error: /bomb\.png: the image is 16000×16000 = 256000000 pixels, over the limit of 4000000/ },
      { what: 'one bad image among good ones', send: () => call(`${url}/v1/score`, { method: 'POST', body: form([['ok.png', redPng, 'image/png'], ['bad.png', notAnImage(), 'image/png']]) }), status: 415, error: /bad\.png/ },
      { what: 'multipart without files', send: () => { const f = new FormData(); f.append('note', 'hi'); return call(`${url}/v1/score`, { method: 'POST', body: f }); }, status: 400, error: /Expected one or more image files/ },
      { what: 'bad k', send: () => post(`${url}/v1/score?k=-1`, redPng), status: 400, error: /Expected k an integer between 0 and 24/ },
      { what: 'search without an index', send: () => post(`${url}/v1/search`, redPng), status: 404, error: /no image index/ },
      { what: 'wrong method', send: () => call(`${url}/v1/score`), status: 405, error: /Expected POST/ },
      { what: 'wrong method on GET route', send: () => call(`${url}/healthz`, { method: 'DELETE' }), status: 405, error: /Expected GET/ },
      { what: 'unknown route', send: () => call(`${url}/v2/nothing`, { method: 'POST' }), status: 404, error: /no such route/ },
      { what: 'unknown normal image', send: () => call(`${url}/v1/normals/99.png`), status: 404, error: /between 0 and 23/ },
    ];
    const expected = await offline(redPng);
    for (const c of cases) {
      const [bad, good] = await Promise.all([c.send(), post(`${url}/v1/score`, redPng)]);
      assert.equal(bad.status, c.status, `${c.what}: ${JSON.stringify(bad.body)}`);
      assert.match(String(bad.body.error), c.error, `${c.what}: ${JSON.stringify(bad.body)}`);
      assert.equal(typeof bad.body.code, 'string', `${c.what}: a JSON error with a code`);
      if (c.status === 405) assert.ok(bad.headers.get('allow'), `${c.what}: Allow header`);
      assert.equal(good.status, 200, `the valid request beside '${c.what}': ${JSON.stringify(good.body)}`);
      assert.ok(Math.abs(good.body.results[0].score - expected.score) <= 1e-5 * Math.max(1, Math.abs(expected.score)));
    }
    assert.equal((await call(`${url}/healthz`)).status, 200, 'still serving');
    assert.equal(await metricValue(url, /^deepmetric_http_requests_total\{route="\/v1\/score",method="POST",status="422"\}/), 3, 'truncated PNG, truncated JPEG, bomb');
    assert.ok(await metricValue(url, /^deepmetric_http_errors_total\{route="\/v1\/score",class="client"\}/) >= 10);
  } finally {
    await app.close();
  }
  assert.equal(liveTensors(), baseTensors, 'no tensor leaked');
});

test('concurrent requests are batched into shared forward passes with the same results', async () => {
  const { app, url } = await start({ batchWaitMs: 40, maxBatch: 16 });
  try {
    const images = await Promise.all([0, 1, 2, 3].map((i) => encodeImage(red, i)).concat([encodeImage(blue, 0), encodeImage(blue, 1)]));
    const expected = await Promise.all(images.map((b) => offline(b)));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`${url}/v1/score`, images[i % images.length])));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      const e = expected[i % images.length];
      assert.ok(Math.abs(a.body.results[0].score - e.score) <= 1e-5 * Math.max(1, Math.abs(e.score)), `request ${i}`);
      assert.equal(a.body.results[0].verdict, e.anomalous ? 'anomaly' : 'normal');
    });
    const count = await metricValue(url, /^deepmetric_batch_size_count\{queue="score"\}/);
    const sum = await metricValue(url, /^deepmetric_batch_size_sum\{queue="score"\}/);
    const singles = await metricValue(url, /^deepmetric_batch_size_bucket\{queue="score",le="1"\}/);
    assert.equal(sum, 12, 'every image went through a forward');
    assert.ok(count < 12 && singles < count, `12 images in ${count} forwards (${singles} of one image): batches of more than one`);
    assert.match((await call(`${url}/metrics`)).body.text, /# TYPE deepmetric_queue_depth gauge\ndeepmetric_queue_depth\{queue="score"\} 0/);
  } finally {
    await app.close();
  }
  assert.equal(liveTensors(), baseTensors);
});

test('a full queue answers 503 with Retry-After; a request past its deadline answers 503 and leaves the queue', async () => {
  const full = await start({ maxQueue: 2, batchWaitMs: 600 });
  try {
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(`${full.url}/v1/score`, redPng)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);
    const refused = answers.find((a) => a.status === 503)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.body.code, 'QUEUE_FULL');
    assert.match(refused.body.error, /the server is busy: 2 requests in progress \(the limit is 2\)/);
    assert.equal((await post(`${full.url}/v1/score`, redPng)).status, 200, 'admitted again once the queue drained');
  } finally {
    await full.app.close();
  }
  const slow = await start({ timeoutMs: 80, batchWaitMs: 2000 });
  try {
    const late = await post(`${slow.url}/v1/score`, redPng);
    assert.equal(late.status, 503);
    assert.equal(late.body.code, 'TIMEOUT');
    assert.equal(late.headers.get('retry-after'), '1');
    assert.equal(await metricValue(slow.url, /^deepmetric_queue_depth\{queue="score"\}/), 0, 'the timed-out image left the queue');
  } finally {
    await slow.app.close();
  }
  assert.equal(liveTensors(), baseTensors);
});

test('a client that goes away mid-request leaves the queue; the server carries on', async () => {
  const { app, url } = await start({ batchWaitMs: 400 });
  try {
    const controller = new AbortController();
    const gone = fetch(`${url}/v1/score`, { method: 'POST', body: new Uint8Array(redPng), headers: { 'content-type': 'image/png' }, signal: controller.signal });
    for (let i = 0; i < 100 && (await metricValue(url, /^deepmetric_queue_depth\{queue="score"\}/)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await metricValue(url, /^deepmetric_queue_depth\{queue="score"\}/), 1, 'the image waits for its batch');
    controller.abort();
    await assert.rejects(gone);
    for (let i = 0; i < 100 && (await metricValue(url, /^deepmetric_queue_depth\{queue="score"\}/)) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await metricValue(url, /^deepmetric_queue_depth\{queue="score"\}/), 0, 'dropped from the queue');
    assert.equal(await metricValue(url, /^deepmetric_requests_in_flight /), 0);
    assert.equal((await post(`${url}/v1/score`, redPng)).status, 200);
  } finally {
    await app.close();
  }
  assert.equal(liveTensors(), baseTensors);
});

test('--token: every route but /healthz and the page files needs the bearer token', async () => {
  const { app, url } = await start({ token: 's3cret-token' });
  try {
    assert.equal((await call(`${url}/healthz`)).status, 200);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/app.js">/);
    assert.equal((await fetch(`${url}/app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    for (const [method, path] of [['GET', '/v1/info'], ['GET', '/metrics'], ['POST', '/v1/score'], ['POST', '/v1/embed'], ['GET', '/v1/normals/0.png']]) {
      const none = await call(`${url}${path}`, { method, ...(method === 'POST' ? { body: new Uint8Array(redPng), headers: { 'content-type': 'image/png' } } : {}) });
      assert.equal(none.status, 401, `${method} ${path} without a token`);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="deepmetric"');
      assert.match(none.body.error, /Expected an Authorization: Bearer <token> header/);
    }
    const wrong = await post(`${url}/v1/score`, redPng, 'image/png', { authorization: 'Bearer s3cret-tokem' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error, /not the one this server expects/);
    const right = await post(`${url}/v1/score`, redPng, 'image/png', { authorization: 'Bearer s3cret-token' });
    assert.equal(right.status, 200);
    assert.equal((await call(`${url}/v1/info`, { headers: { authorization: 'bearer s3cret-token' } })).body.auth, true);
  } finally {
    await app.close();
  }
});

test('createServer refuses bad options with a clear message', () => {
  assert.throws(() => createServer({ detector, maxBatch: 0 }), /Expected maxBatch an integer ≥ 1 but received 0/);
  assert.throws(() => createServer({ detector, token: '' }), /non-empty token/);
});

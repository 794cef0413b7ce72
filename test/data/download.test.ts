import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCifar10, resolveCifar10Source } from '../../src/data/sources/cifar10.js';
import { DataFileError } from '../../src/data/data-error.js';
import { downloadFile, md5OfFile, verifyMd5 } from '../../src/data/sources/download.js';
import { cifarRecords, makeTempDir, noiseBytes, writeTar } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
const payload = noiseBytes(300_000, 11);
const payloadMd5 = createHash('md5').update(payload).digest('hex');
const cifar = cifarRecords([1, 2, 3], 5);
const cifarArchive = writeTar(
  ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].map((name) => ({
    path: `cifar-10-batches-bin/${name}`,
    data: cifar.bytes,
  })),
  { gzip: true },
);
const cifarMd5 = createHash('md5').update(cifarArchive).digest('hex');
let server: Server;
let base = '';

before(async () => {
  // A real local HTTP server stands in for the internet, which this machine cannot reach.
  server = createServer((request, response) => {
    if (request.url === '/cifar/cifar-10-binary.tar.gz') {
      response.writeHead(200, { 'content-length': cifarArchive.length });
      response.end(cifarArchive);
    } else if (request.url === '/data.bin') {
      response.writeHead(200, { 'content-length': payload.length });
      response.end(payload);
    } else if (request.url === '/short.bin') {
      response.writeHead(200, { 'content-length': payload.length });
      response.end(payload.subarray(0, 1000)); // fewer bytes than announced
      response.socket?.destroy();
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  cleanup();
});

describe('download and checksum', () => {
  it('downloads to the destination when the MD5 matches', async () => {
    const destination = join(dir, 'ok', 'data.bin');
    await downloadFile(`${base}/data.bin`, destination, { md5: payloadMd5, progress: false });
    assert.deepEqual(readFileSync(destination), payload);
    assert.deepEqual(readdirSync(join(dir, 'ok')), ['data.bin']);
  });

  it('keeps nothing when the MD5 differs', async () => {
    const destination = join(dir, 'bad', 'data.bin');
    await assert.rejects(downloadFile(`${base}/data.bin`, destination, { md5: '0'.repeat(32), progress: false }), (error: Error) =>
      error instanceof DataFileError && error.file === `${base}/data.bin` && /checksum mismatch/.test(error.message));
    assert.deepEqual(readdirSync(join(dir, 'bad')), []);
  });

  it('reports HTTP errors, cut-off bodies and unreachable hosts with the URL', async () => {
    await assert.rejects(downloadFile(`${base}/missing.bin`, join(dir, 'x', 'm'), { progress: false }), /missing\.bin: download failed with HTTP 404/);
    await assert.rejects(downloadFile(`${base}/short.bin`, join(dir, 'x', 's'), { progress: false }), (error: Error) => error instanceof DataFileError && error.file.endsWith('/short.bin'));
    assert.deepEqual(readdirSync(join(dir, 'x')), []);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await assert.rejects(downloadFile(`http://127.0.0.1:${port}/a.tar.gz`, join(dir, 'x', 'a'), { progress: false }), /a\.tar\.gz: download failed/);
  });

  it('verifies the MD5 of a local file', async () => {
    const file = join(dir, 'local.bin');
    writeFileSync(file, payload);
    assert.equal(await md5OfFile(file), payloadMd5);
    await verifyMd5(file, payloadMd5.toUpperCase());
    await assert.rejects(verifyMd5(file, 'c32a1d4ab5d03f1284b67883e8d87530'), (error: Error) =>
      error instanceof DataFileError && error.file === file && /MD5 is [0-9a-f]{32} but expected c32a1d4ab5d03f1284b67883e8d87530/.test(error.message));
    assert.ok(existsSync(file));
  });

  it('loadCifar10 downloads a URL source into the cache folder, verifies it, then reuses it', async () => {
    const cacheDir = join(dir, 'cifar-cache');
    const url = `${base}/cifar/cifar-10-binary.tar.gz`;
    await assert.rejects(loadCifar10({ source: url, cacheDir, progress: false }), /checksum mismatch/, 'the official MD5 applies to the official file name');
    assert.ok(!existsSync(join(cacheDir, 'downloads', 'cifar-10-binary.tar.gz')));
    const { train, test } = await loadCifar10({ source: url, cacheDir, md5: cifarMd5, progress: false });
    assert.equal(train.labels.length, 15);
    assert.deepEqual([...test.labels], [1, 2, 3]);
    assert.deepEqual(Buffer.from(test.images), Buffer.from(cifar.nhwc));
    const downloaded = join(cacheDir, 'downloads', 'cifar-10-binary.tar.gz');
    assert.ok(existsSync(downloaded));
    // With no source given, a previous download in the cache folder is the first default.
    const saved = process.env.DEEPMETRIC_CIFAR10;
    delete process.env.DEEPMETRIC_CIFAR10;
    try {
      assert.equal(await resolveCifar10Source({ cacheDir }), downloaded);
      process.env.DEEPMETRIC_CIFAR10 = '/some/where.tar.gz';
      assert.equal(await resolveCifar10Source({ cacheDir }), '/some/where.tar.gz');
    } finally {
      if (saved === undefined) delete process.env.DEEPMETRIC_CIFAR10;
      else process.env.DEEPMETRIC_CIFAR10 = saved;
    }
  });
});

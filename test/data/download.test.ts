import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataFileError } from '../../src/data/data-error.js';
import { downloadFile, md5OfFile, verifyMd5 } from '../../src/data/download.js';
import { makeTempDir, noiseBytes } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
const payload = noiseBytes(300_000, 11);
const payloadMd5 = createHash('md5').update(payload).digest('hex');
let server: Server;
let base = '';

before(async () => {
  // A real local HTTP server stands in for the internet, which this machine cannot reach.
  server = createServer((request, response) => {
    if (request.url === '/data.bin') {
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
});

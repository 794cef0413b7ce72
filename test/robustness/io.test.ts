// Files in and out: every output goes through one writer that writes devices and FIFOs directly and
// never renames over them or over a symlink; every input through one guarded open, so a FIFO or
// /dev/zero given as an image, archive, cache or class list is an error, not a hang or a runaway
// read; archives of huge entries are refused entry by entry with bounded memory; file names shown
// on a terminal or written to CSV cannot carry escape sequences or formulas.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { before } from 'node:test';
import { badInput, runCli, runNode, tempDir } from './bad-input.js';
import { writeColourFolder } from '../cli/synthetic-folder.js';
import { quietly } from '../helpers.js';
import { fitDetectorCommand } from '../../src/cli/fit-detector.js';
import { AnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import { scoreImageFiles } from '../../src/anomaly/score-files.js';
import { listImageInputs } from '../../src/data/sources/image-inputs.js';
import { readArchiveFile } from '../../src/data/sources/archive-reader.js';
import { readClassNames } from '../../src/data/sources/dataset-source.js';
import { readIdxFile } from '../../src/data/sources/mnist-idx.js';
import { openDatasetCache } from '../../src/data/cache/streamed-cache.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { describeDatasetSource, imageLayoutOf } from '../../src/data/sources/dataset-source.js';
import { decodeLayout } from '../../src/data/layout-decoder.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';
import { readInputFile, readInputFileSync } from '../../src/util/input-file.js';
import { csvCell, printable } from '../../src/util/printable.js';
import { launchWorkers } from '../../src/distributed/launcher.js';

const root = tempDir('io');
let detector = '';
let image = '';

before(async () => {
  const data = join(root, 'data');
  await writeColourFolder(data, { train: 12, test: 4 }, { good: [200, 40, 40] }, 1);
  const r = await quietly(() => fitDetectorCommand(['--data', data, '--normal', 'good', '--method', 'autoencoder', '--epochs', '1', '--batch-size', '8',
    '--threads', '1', '--cache-dir', join(root, 'cache'), '--out', join(root, 'det')]));
  detector = r.path;
  image = join(data, 'test', 'good', '0.png');
});

const mkfifo = (path: string): void => {
  execFileSync('mkfifo', [path]);
};

/** Within `ms`, or the test fails as a hang. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (a hang)`)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- outputs ----

badInput('output/char-device', 'an output named by a character device (a private /dev/null) is written into, not replaced by a regular file', async (t) => {
  const node = join(root, 'mynull');
  try {
    execFileSync('mknod', ['-m', '666', node, 'c', '1', '3'], { stdio: 'ignore' });
  } catch {
    t.skip('mknod needs root here');
    return;
  }
  const r = await runCli(['score', '--detector', detector, '--csv', node, image]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(node).isCharacterDevice(), 'the device node is still a device');
});

badInput('output/dev-full', 'writing to /dev/full fails with "no space left", and /dev/full stays a device', async () => {
  await assert.rejects(writeFileAtomic('/dev/full', 'x'.repeat(100_000)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && /cannot write \/dev\/full: no space left/.test(e.message));
  assert.ok(statSync('/dev/full').isCharacterDevice());
  assert.throws(() => writeFileAtomicSync('/dev/full', 'x'.repeat(100_000)), /no space left/);
});

badInput('output/symlink-to-stdout', 'score --csv through a symlink to /proc/self/fd/1 prints the CSV and leaves the link', async () => {
  const link = join(root, 'to-stdout.csv');
  symlinkSync('/proc/self/fd/1', link);
  const r = await runCli(['score', '--detector', detector, '--json', '--csv', link, image]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^file,score,threshold,verdict,neighbours,error$/m, 'the CSV reached stdout');
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(readlinkSync(link), '/proc/self/fd/1');
});

badInput('output/fifo', 'an output named by a FIFO is written into it (a reader gets the bytes) and the FIFO stays', async () => {
  const fifo = join(root, 'out.fifo');
  mkfifo(fifo);
  const reader = new Promise<string>((resolve, reject) => {
    const cat = spawn('cat', [fifo]);
    let got = '';
    cat.stdout.on('data', (d: Buffer) => (got += d.toString()));
    cat.on('close', () => resolve(got));
    cat.on('error', reject);
  });
  await within(10_000, 'writing into a FIFO', writeFileAtomic(fifo, 'through the pipe\n'));
  assert.equal(await within(10_000, 'reading the FIFO', reader), 'through the pipe\n');
  assert.ok(lstatSync(fifo).isFIFO());
});

badInput('output/symlink-to-file', 'an output named by a symlink to a regular file replaces that file atomically and keeps the link', async () => {
  const real = join(root, 'real.json');
  const link = join(root, 'link.json');
  writeFileSync(real, 'old');
  symlinkSync(real, link);
  await writeFileAtomic(link, 'new');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), 'new');
});

badInput('output/dangling-symlink', 'an output named by a symlink to nothing is a clear error and the link stays', async () => {
  const link = join(root, 'dangling.json');
  symlinkSync(join(root, 'nowhere', 'x.json'), link);
  await assert.rejects(writeFileAtomic(link, 'x'), /cannot write .*dangling\.json: it is a symbolic link to a missing file/);
  assert.ok(lstatSync(link).isSymbolicLink());
});

badInput('output/folder', 'an output named by a folder is a clear error', async () => {
  const dir = join(root, 'a-folder');
  mkdirSync(dir);
  await assert.rejects(writeFileAtomic(dir, 'x'), /cannot write .*a-folder: it is a folder/);
  assert.ok(statSync(dir).isDirectory());
});

badInput('output/socket', 'an output named by a Unix socket is refused, and the socket stays', async () => {
  const path = join(root, 'out.sock');
  const server = net.createServer().listen(path);
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    await assert.rejects(writeFileAtomic(path, 'x'), /it is a socket/);
    assert.ok(lstatSync(path).isSocket());
  } finally {
    server.close();
  }
});

badInput('output/missing-folder', 'writing into a missing folder names the folder, not a temporary file', async () => {
  const target = join(root, 'no-such-folder', 'results.json');
  await assert.rejects(writeFileAtomic(target, '{}'), (e: Error) => e.message === `cannot write ${target}: the folder ${join(root, 'no-such-folder')} does not exist` && !/\.tmp-/.test(e.message));
});

badInput('output/cli-missing-folder', 'score --csv into a missing folder exits 1 with a message naming the folder', async () => {
  const r = await runCli(['score', '--detector', detector, '--csv', join(root, 'absent', 'x.csv'), image]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot write .*absent\/x\.csv: the folder .*absent does not exist/);
  assert.doesNotMatch(r.stderr, /\.tmp-/);
});

// ---- inputs ----

badInput('input/fifo-image', 'score on a FIFO named like an image reports it, exit 1, without waiting for a writer', async () => {
  const fifo = join(root, 'f.jpg');
  mkfifo(fifo);
  const r = await runCli(['score', '--detector', detector, fifo, image], { killAfterMs: 30_000 });
  assert.equal(r.signal, null, 'not killed as a hang');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /FIFO \(named pipe\), not a regular file/);
});

badInput('input/fifo-detector', 'a FIFO given as --detector is an error, not a hang', async () => {
  const fifo = join(root, 'det.fifo');
  mkfifo(fifo);
  const r = await runCli(['score', '--detector', fifo, image], { killAfterMs: 30_000 });
  assert.equal(r.signal, null, 'not killed as a hang');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /FIFO/);
});

badInput('input/dev-zero-image', '/dev/zero given as an image is refused at once with bounded memory', async () => {
  const r = await runCli(['score', '--detector', detector, '/dev/zero'], { killAfterMs: 30_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /character device, not a regular file/);
  assert.ok(r.peakRssMb < 600, `peak RSS ${r.peakRssMb} MB`);
});

badInput('input/dev-zero-detector', '/dev/zero given as --detector is refused at once with bounded memory', async () => {
  const r = await runCli(['score', '--detector', '/dev/zero', image], { killAfterMs: 30_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /character device/);
  assert.ok(r.peakRssMb < 600, `peak RSS ${r.peakRssMb} MB`);
});

badInput('input/fifo-archive', 'a FIFO named like a .zip or .tar.gz is an error for each, not a hang', async () => {
  for (const name of ['a.zip', 'b.tar.gz']) {
    const fifo = join(root, name);
    mkfifo(fifo);
    const consume = async () => {
      for await (const _ of readArchiveFile(fifo)) void _;
    };
    await within(10_000, `reading ${name}`, assert.rejects(consume(), /cannot open archive \(it is a FIFO/));
  }
});

badInput('input/fifo-in-folder', 'a FIFO inside a folder of images is skipped by the walk, the images are still listed', async () => {
  const dir = join(root, 'with-fifo');
  mkdirSync(dir);
  mkfifo(join(dir, 'stuck.png'));
  writeFileSync(join(dir, 'ok.png'), readFileSync(image));
  const names = [];
  for await (const input of listImageInputs([dir])) names.push(input.name);
  assert.deepEqual(names, [join(dir, 'ok.png')]);
});

badInput('input/folder-as-image', 'a folder read as an image file names what it is', async () => {
  await assert.rejects(readInputFile(root, { what: 'image' }), /cannot read image .*: it is a folder, not a regular file/);
});

badInput('input/over-limit', 'a file over the caller\'s limit is refused before it is read', async () => {
  const big = join(root, 'big.bin');
  writeFileSync(big, Buffer.alloc(4096));
  assert.throws(() => readInputFileSync(big, { what: 'weights', maxBytes: 1024 }), /cannot read weights .*big\.bin: it has 4096 bytes, more than the limit of 1024/);
});

badInput('input/missing-file', 'a missing input says "no such file" and names it', async () => {
  await assert.rejects(readInputFile(join(root, 'nope.dmdet'), { what: 'detector' }), /cannot read detector .*nope\.dmdet: no such file/);
});

badInput('input/fifo-class-names', 'a FIFO as the classes.txt of a dataset is an error, not a hang', async () => {
  const fifo = join(root, 'classes.txt');
  mkfifo(fifo);
  await within(10_000, 'reading classes.txt', assert.rejects(readClassNames(fifo), /FIFO/));
});

badInput('input/fifo-idx', 'a FIFO as an MNIST IDX file is an error, not a hang', async () => {
  const fifo = join(root, 'train-images-idx3-ubyte');
  mkfifo(fifo);
  await within(10_000, 'reading an IDX file', assert.rejects(readIdxFile(fifo), /cannot read IDX file \(it is a FIFO/));
});

badInput('input/fifo-cache', 'a FIFO in place of a dataset cache file is an error, not a hang', async () => {
  const fifo = join(root, 'x.dmcache');
  mkfifo(fifo);
  await within(10_000, 'opening a cache', assert.rejects(openDatasetCache(fifo), /cannot open dataset cache \(it is a FIFO/));
});

badInput('input/dev-zero-data', '--data /dev/zero is refused, not read for ever', async () => {
  await within(20_000, 'loading /dev/zero', assert.rejects(quietly(() => loadDataset({ source: '/dev/zero', cacheDir: join(root, 'cache-z') }))));
});

/** A zip of `count` stored-as-deflate entries of `bytes` zero bytes each (small on disk). */
function zipOfZeros(count: number, bytes: number, declared = bytes): Buffer {
  const compressed = deflateRawSync(Buffer.alloc(bytes), { level: 9 });
  const crc = 0; // never checked: the entries are refused (or fail) before their CRC matters
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`zeros-${i}.png`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

badInput('input/zip-of-huge-entries', 'score on a small zip of 8 × 500 MB entries refuses each entry, scores the rest, memory bounded', async () => {
  const zip = join(root, 'bomb.zip');
  writeFileSync(zip, zipOfZeros(8, 500 * 1024 ** 2));
  const r = await runCli(['score', '--detector', detector, '--json', zip, image], { killAfterMs: 120_000 });
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { n_files: number; n_failed: number; results: Array<{ error?: string }> };
  assert.equal(out.n_files, 9);
  assert.equal(out.n_failed, 8);
  assert.match(out.results[0].error!, /over the limit of \d+ for one image/);
  assert.ok(r.peakRssMb < 700, `peak RSS ${r.peakRssMb} MB`);
});

badInput('input/zip-lying-size', 'a zip entry that inflates to more than it declares is caught (with bounded memory), not read whole', async () => {
  const zip = join(root, 'liar.zip');
  writeFileSync(zip, zipOfZeros(1, 300 * 1024 ** 2, 1000));
  const r = await runNode(['--input-type=module', '-e', `
    const { readArchiveFile } = await import(${JSON.stringify(new URL('../../src/data/sources/archive-reader.js', import.meta.url).href)});
    try { for await (const e of readArchiveFile(${JSON.stringify(zip)})) void e; console.log('accepted'); } catch (e) { console.log('refused:', e.message); }`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /refused: .*liar\.zip: corrupt zip archive/);
  assert.ok(r.peakRssMb < 400, `peak RSS ${r.peakRssMb} MB`);
});

badInput('input/score-concurrency-zero', 'scoreImageFiles with concurrency 0 (or batchSize 0, k -1) is a TypeError, not a promise that never settles', async () => {
  const d = AnomalyDetector.load(detector);
  try {
    for (const [o, field] of [[{ concurrency: 0 }, 'concurrency'], [{ batchSize: 0 }, 'batchSize'], [{ k: -1 }, 'k'], [{ concurrency: 1.5 }, 'concurrency']] as const) {
      await within(5_000, field, assert.rejects(scoreImageFiles(d, [image], o), new RegExp(`for ${field} but received`)));
    }
    const rows = await within(20_000, 'concurrency 1', scoreImageFiles(d, [image, image, image], { concurrency: 1, batchSize: 2 }));
    assert.equal(rows.length, 3);
  } finally {
    d.dispose();
  }
});

// ---- what reaches a terminal or a spreadsheet ----

badInput('text/csv-formula', 'file names starting with =, +, -, @ or a tab are written to CSV as text, not formulas', async () => {
  for (const name of ['=HYPERLINK("http://x")', '+1+1', '-2', '@SUM(A1)', '\tcmd', '\rx']) {
    const cell = csvCell(name);
    assert.ok(/^"?'/.test(cell), `${JSON.stringify(name)} → ${cell}`);
  }
  assert.equal(csvCell(-0.25), '-0.25', 'numbers stay numbers');
  const dir = join(root, 'formula');
  mkdirSync(dir);
  writeFileSync(join(dir, '=cmd|calc.png'), readFileSync(image));
  const csv = join(root, 'formula.csv');
  const r = await runCli(['score', '--detector', detector, '--json', '--csv', csv, '=cmd|calc.png'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const row = readFileSync(csv, 'utf8').split('\n')[1];
  assert.ok(row.startsWith("'=cmd|calc.png,"), row);
});

badInput('text/escape-in-name', 'an image named with terminal escapes and bidi overrides is shown escaped in the table', async () => {
  const dir = join(root, 'escapes');
  mkdirSync(dir);
  const evil = '\u001b[2J\u001b]0;pwned\u0007\u202egnp.exe.png';
  writeFileSync(join(dir, evil), readFileSync(image));
  const r = await runCli(['score', '--detector', detector, dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /[\u001b\u0007\u202e]/, 'no raw control or bidi character on the terminal');
  assert.match(r.stdout, /\\x1b\[2J\\x1b\]0;pwned\\x07\\u202egnp\.exe\.png/);
  assert.equal(printable('ok\tname'), 'ok\\x09name');
});

badInput('text/escape-in-error', 'an error message naming a file with escapes is printed escaped', async () => {
  const r = await runCli(['score', '--detector', join(root, '\u001b[31mred.dmdet'), image]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /\u001b/);
  assert.match(r.stderr, /\\x1b\[31mred\.dmdet/);
});

// ---- process surfaces ----

badInput('distributed/one-machine-port', 'a port given on one machine opens no TCP store (libtorch 1.13 listens on every interface): the ranks meet through a private file', async () => {
  const out = join(root, 'launch-out');
  mkdirSync(out);
  const script = join(root, 'record-env.mjs');
  // Each rank records how it was told to meet the others.
  writeFileSync(script, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(join(out, 'env.json'))}, JSON.stringify({ init: process.env.DEEPMETRIC_INIT_METHOD, port: process.env.MASTER_PORT ?? null }));\n`);
  const lines: string[] = [];
  const result = await launchWorkers({ nproc: 1, masterPort: 29_731, script, args: [], log: (l) => lines.push(l), env: { ...process.env } });
  assert.equal(result.code, 0);
  const seen = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8')) as { init: string; port: string | null };
  assert.match(seen.init, /^file:\/\//, 'a rendezvous file, not a TCP store');
  assert.equal(seen.port, null);
  assert.ok(lines.some((l) => /port 29731 is not opened/.test(l)), lines.join('\n'));
});

badInput('cache/fd-leak-on-failed-create', 'when one split\'s cache file cannot be created, the other split\'s file is closed and removed', async () => {
  const data = join(root, 'leak-data');
  await writeColourFolder(data, { train: 4, test: 2 }, { a: [200, 40, 40], b: [40, 40, 200] }, 3);
  const source = await describeDatasetSource(data);
  const layout = await imageLayoutOf(source);
  const blocker = join(root, 'leak-blocker');
  writeFileSync(blocker, 'a file where a folder should be');
  const trainCache = join(root, 'leak-cache', 'train.cache');
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  // The test split's cache goes under a regular file: its create fails (ENOTDIR) after train's succeeded.
  await assert.rejects(decodeLayout(source, layout, {}, { train: trainCache, test: join(blocker, 'test.cache') }), /cannot create dataset cache/);
  assert.equal(fds(), before, 'no descriptor left open');
  assert.ok(!readdirSync(join(root, 'leak-cache')).some((f) => f.includes('.tmp-')), 'no temporary cache file left behind');
});

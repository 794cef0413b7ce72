import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { atomicTempPath, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'deepmetric-atomic-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('temp path is a sibling named <path>.tmp-<pid>-<random>', () => {
  const a = atomicTempPath('/x/results.json');
  assert.match(a, new RegExp(`^/x/results\\.json\\.tmp-${process.pid}-[0-9a-f]{12}$`));
  assert.notEqual(a, atomicTempPath('/x/results.json'));
});

test('writes strings, bytes and chunk streams, replacing the old file, with no temp file left', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'results.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, '{"ok":true}');
    assert.equal(await readFile(file, 'utf8'), '{"ok":true}');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await readFile(file))], [1, 2, 3]);
    async function* chunks() {
      yield 'a,';
      yield Buffer.from('b,');
      yield 'c';
    }
    await writeFileAtomic(file, chunks());
    assert.equal(await readFile(file, 'utf8'), 'a,b,c');
    assert.deepEqual(await readdir(dir), ['results.json']);
  });
});

test('a failure while writing keeps the old file and removes the temp file', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'checkpoint.bin');
    await writeFile(file, 'old contents');
    async function* failing() {
      yield 'partial new contents';
      throw new Error('disk full (simulated by the producer)');
    }
    await assert.rejects(writeFileAtomic(file, failing()), /disk full/);
    assert.equal(await readFile(file, 'utf8'), 'old contents');
    assert.deepEqual(await readdir(dir), ['checkpoint.bin']);
  });
});

test('a failing rename (target is a non-empty directory) cleans up the temp file', async () => {
  await withDir(async (dir) => {
    const target = path.join(dir, 'busy');
    await mkdir(target);
    await writeFile(path.join(target, 'inside'), 'x');
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual(await readdir(dir), ['busy']);
    assert.throws(() => writeFileAtomicSync(target, 'data'));
    assert.deepEqual(await readdir(dir), ['busy']);
  });
});

test('a missing directory fails without leaving anything behind', async () => {
  await withDir(async (dir) => {
    await assert.rejects(writeFileAtomic(path.join(dir, 'no', 'such', 'file'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), []);
  });
});

test('sync variant writes atomically and keeps the old file when a chunk is bad', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'a.txt');
    writeFileAtomicSync(file, 'one');
    writeFileAtomicSync(file, ['t', 'wo']);
    assert.equal(await readFile(file, 'utf8'), 'two');
    assert.throws(() => writeFileAtomicSync(file, ['ok', 42 as unknown as string]), /Expected each chunk of data to be a string or Uint8Array but received number/);
    assert.equal(await readFile(file, 'utf8'), 'two');
    assert.deepEqual(await readdir(dir), ['a.txt']);
  });
});

test('argument checks name what was expected and received', async () => {
  await assert.rejects(writeFileAtomic('', 'x'), /Expected a non-empty string for path but received ""/);
  await assert.rejects(writeFileAtomic('/tmp/x', 42 as unknown as string), /Expected a string, Uint8Array or \(async\) iterable of chunks for data but received number/);
});

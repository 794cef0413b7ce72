import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DataFileError } from '../../src/data/data-error.js';
import { readTarFile, type TarEntry } from '../../src/data/sources/tar-reader.js';
import { makeTempDir, noiseBytes, writeTar } from './fixtures.js';

const { dir, cleanup } = makeTempDir();
after(cleanup);

async function readAll(file: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const entry of readTarFile(file)) entries.push({ ...entry, data: Buffer.from(entry.data) });
  return entries;
}

const longPath = `train/${'a'.repeat(60)}/${'b'.repeat(60)}/image.png`;
const contents = [
  { path: 'train/', type: 'directory' as const },
  { path: 'train/cat/one.bin', data: noiseBytes(700, 1) },
  { path: 'train/cat/empty.bin', data: Buffer.alloc(0) },
  { path: 'train/dog/exact.bin', data: noiseBytes(1024, 2) },
  { path: longPath, data: noiseBytes(5, 3) },
];

describe('readTarFile', () => {
  for (const [gzip, longNames] of [[false, 'gnu'], [true, 'gnu'], [true, 'pax']] as const) {
    it(`reads files, folders and long names (gzip ${gzip}, ${longNames} long names)`, async () => {
      const file = join(dir, `ok-${gzip}-${longNames}.tar${gzip ? '.gz' : ''}`);
      writeFileSync(file, writeTar(contents, { gzip, longNames }));
      const entries = await readAll(file);
      assert.deepEqual(entries.map((e) => [e.path, e.type]), [
        ['train', 'directory'],
        ['train/cat/one.bin', 'file'],
        ['train/cat/empty.bin', 'file'],
        ['train/dog/exact.bin', 'file'],
        [longPath, 'file'],
      ]);
      for (const [i, entry] of entries.entries()) {
        if (entry.type === 'file') assert.deepEqual(entry.data, contents[i].data);
      }
    });
  }

  it('rejects a truncated gzip archive, naming the file', async () => {
    const file = join(dir, 'truncated.tar.gz');
    const whole = writeTar(contents, { gzip: true });
    writeFileSync(file, whole.subarray(0, whole.length - 40));
    await assert.rejects(readAll(file), (error: Error) => error instanceof DataFileError && error.message.startsWith(file) && /gzip/.test(error.message));
  });

  it('rejects a tar archive cut inside an entry', async () => {
    const file = join(dir, 'truncated.tar');
    writeFileSync(file, writeTar(contents).subarray(0, 512 + 512 + 300));
    await assert.rejects(readAll(file), (error: Error) => error instanceof DataFileError && /truncated tar archive/.test(error.message) && error.message.includes(file));
  });

  it('rejects a corrupt header by its checksum', async () => {
    const file = join(dir, 'corrupt.tar');
    const tar = writeTar(contents);
    tar[512 + 10] ^= 0x55; // inside the second header's name
    writeFileSync(file, tar);
    await assert.rejects(readAll(file), /corrupt\.tar: corrupt tar archive: header checksum mismatch/);
  });

  it('stops cleanly when the consumer stops early', async () => {
    const file = join(dir, 'early.tar.gz');
    writeFileSync(file, writeTar(contents, { gzip: true }));
    for await (const entry of readTarFile(file)) {
      assert.equal(entry.path, 'train');
      break;
    }
  });
});

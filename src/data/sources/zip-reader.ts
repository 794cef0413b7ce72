// Reads .zip archives entry by entry through yauzl (a well-kept reader that checks the central
// directory, CRC-32s and sizes), yielding the same entries as the tar reader so that dataset code
// handles both archive kinds with one loop.

import { closeSync } from 'node:fs';
import yauzl from 'yauzl';
import { DataFileError } from '../data-error.js';
import { checkEntrySize, type TarEntry, type TarReadOptions } from './tar-reader.js';
import { InputFileError, openInputFileSync } from '../../util/input-file.js';

export type ArchiveEntry = TarEntry;

function openZip(fd: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromFd(fd, { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true }, (error, zip) => {
      if (error || !zip) reject(error ?? new Error('no zip file'));
      else resolve(zip);
    });
  });
}

function readEntryData(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) {
        reject(error ?? new Error('no stream'));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/**
 * Entries of a zip file in central-directory order; damage is a DataFileError naming the file.
 * `options` as for tar: unselected entries are not decompressed, and an entry whose declared size
 * is over the cap is refused before it is (yauzl checks the declared sizes against the data).
 */
export async function* readZipFile(file: string, options: TarReadOptions = {}): AsyncGenerator<ArchiveEntry> {
  let fd: number;
  try {
    ({ fd } = openInputFileSync(file, { what: 'zip archive', maxBytes: Number.MAX_SAFE_INTEGER }));
  } catch (error) {
    throw new DataFileError(file, `cannot read zip archive (${error instanceof InputFileError ? error.reason : (error as Error).message})`, { cause: error });
  }
  yield* readZipFd(fd, file, options);
}

/** As readZipFile, from a descriptor of `file` opened for reading; the descriptor is closed at the end. */
export async function* readZipFd(fd: number, file: string, options: TarReadOptions = {}): AsyncGenerator<ArchiveEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(fd);
  } catch (error) {
    closeSync(fd);
    throw new DataFileError(file, `cannot read zip archive (${(error as Error).message})`, { cause: error });
  }
  // Entries arrive as events; a small queue turns them into an async iteration.
  const queue: Array<{ entry?: yauzl.Entry; error?: Error; end?: boolean }> = [];
  let wake: (() => void) | undefined;
  const push = (item: (typeof queue)[number]) => {
    queue.push(item);
    wake?.();
  };
  zip.on('entry', (entry: yauzl.Entry) => push({ entry }));
  zip.on('error', (error: Error) => push({ error }));
  zip.on('end', () => push({ end: true }));
  try {
    for (;;) {
      zip.readEntry();
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const item = queue.shift()!;
      if (item.error) throw item.error;
      if (item.end || !item.entry) return;
      const entry = item.entry;
      const path = entry.fileName.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
      if (path.endsWith('/')) {
        yield { path: path.replace(/\/+$/, ''), type: 'directory', size: 0, data: Buffer.alloc(0) };
        continue;
      }
      if (options.select && !options.select({ path, size: entry.uncompressedSize })) {
        yield { path, type: 'file', size: entry.uncompressedSize, data: Buffer.alloc(0), skipped: true };
        continue;
      }
      checkEntrySize(file, path, entry.uncompressedSize, options.maxEntryBytes);
      const data = await readEntryData(zip, entry);
      yield { path, type: 'file', size: data.length, data };
    }
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(file, `corrupt zip archive (${(error as Error).message})`, { cause: error });
  } finally {
    zip.close();
  }
}

// One entry point for dataset archives: .zip through yauzl, .tar and .tar.gz through the tar
// reader; the kind is recognised from the file's first bytes, not its name.

import { DataFileError } from '../data-error.js';
import { isGzipMagic, openArchiveFile, readTarHandle, type TarEntry, type TarReadOptions } from './tar-reader.js';
import { readZipFd } from './zip-reader.js';
import { InputFileError, openInputFileSync } from '../../util/input-file.js';

export type ArchiveKind = 'zip' | 'tar' | 'tar.gz';

function kindOf(magic: Buffer): ArchiveKind {
  if (magic.length >= 4 && magic[0] === 0x50 && magic[1] === 0x4b && (magic[2] === 3 || magic[2] === 5)) return 'zip';
  return isGzipMagic(magic) ? 'tar.gz' : 'tar';
}

export async function archiveKind(file: string): Promise<ArchiveKind> {
  const { handle, magic } = await openArchiveFile(file);
  await handle.close();
  return kindOf(magic);
}

/**
 * Entries of a .zip, .tar or .tar.gz file, one at a time. With `select`, only the chosen file
 * entries are read into memory (the others come with `skipped` set); any file entry read is
 * capped at `maxEntryBytes` (default 512 MiB) before it is read. The file is opened once, through
 * the guarded open (a FIFO or a device is refused).
 */
export async function* readArchiveFile(file: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const { handle, magic } = await openArchiveFile(file);
  const kind = kindOf(magic);
  if (kind !== 'zip') {
    yield* readTarHandle(handle, kind === 'tar.gz', file, options);
    return;
  }
  // yauzl reads through a plain descriptor, which it closes: a second guarded open gives it one.
  let fd: number;
  try {
    ({ fd } = openInputFileSync(file, { what: 'archive', maxBytes: Number.MAX_SAFE_INTEGER }));
  } catch (error) {
    throw new DataFileError(file, `cannot open archive (${error instanceof InputFileError ? error.reason : (error as Error).message})`, { cause: error });
  } finally {
    await handle.close();
  }
  yield* readZipFd(fd, file, options);
}

/** For listings: no file entry's contents are read. */
export const LIST_ONLY: TarReadOptions = { select: () => false };

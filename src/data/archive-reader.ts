// One entry point for dataset archives: .zip through yauzl, .tar and .tar.gz through the tar
// reader; the kind is recognised from the file's first bytes, not its name.

import { open } from 'node:fs/promises';
import { DataFileError } from './data-error.js';
import { readTarFile, type TarEntry } from './tar-reader.js';
import { readZipFile } from './zip-reader.js';

export type ArchiveKind = 'zip' | 'tar' | 'tar.gz';

export async function archiveKind(file: string): Promise<ArchiveKind> {
  const handle = await open(file, 'r').catch((error: Error) => {
    throw new DataFileError(file, `cannot open archive (${error.message})`, { cause: error });
  });
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead >= 4 && magic[0] === 0x50 && magic[1] === 0x4b && (magic[2] === 3 || magic[2] === 5)) return 'zip';
    if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return 'tar.gz';
    return 'tar';
  } finally {
    await handle.close();
  }
}

/** Entries of a .zip, .tar or .tar.gz file, one at a time. */
export async function* readArchiveFile(file: string): AsyncGenerator<TarEntry> {
  if ((await archiveKind(file)) === 'zip') yield* readZipFile(file);
  else yield* readTarFile(file);
}

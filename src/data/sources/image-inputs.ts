// The image files named on a command line: files as given, folders walked recursively (sorted,
// hidden entries skipped) and the file entries of .tar / .tar.gz / .tgz / .zip archives. A path that
// cannot be read becomes an input whose read() fails, so one bad path never hides the others.
// Every file goes through the guarded open (a FIFO or a device is an error, not a hang) and no
// image file or archive entry over MAX_IMAGE_FILE_BYTES is read.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareNames } from './class-order.js';
import { readArchiveFile } from './archive-reader.js';
import { readInputFile } from '../../util/input-file.js';

export interface ImageInput {
  /** The file path, or `archive:entry` for an archive member. */
  name: string;
  read(): Promise<Buffer>;
}

/** The largest image file read (64 MiB): a 100-megapixel JPEG is ≈ 30 MB. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 ** 2;

const ARCHIVE = /\.(tar|tar\.gz|tgz|zip)$/i;

const failing = (name: string, error: Error): ImageInput => ({ name, read: () => Promise.reject(error) });

const fileInput = (path: string): ImageInput => ({ name: path, read: () => readInputFile(path, { what: 'image', maxBytes: MAX_IMAGE_FILE_BYTES }) });

async function* walk(folder: string): AsyncGenerator<ImageInput> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (e) {
    yield failing(folder, new Error(`cannot read folder (${(e as Error).message})`));
    return;
  }
  const visible = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => compareNames(a.name, b.name));
  for (const entry of visible) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (ARCHIVE.test(entry.name)) yield* archive(path);
    else if (entry.isFile()) yield fileInput(path);
  }
}

const hidden = (path: string): boolean => (path.split('/').pop() ?? '').startsWith('.');

async function* archive(file: string): AsyncGenerator<ImageInput> {
  try {
    // Entries over the cap are skipped unread (by their declared size; yauzl checks it against the data).
    const select = ({ path, size }: { path: string; size: number }): boolean => !hidden(path) && size <= MAX_IMAGE_FILE_BYTES;
    for await (const entry of readArchiveFile(file, { select, maxEntryBytes: MAX_IMAGE_FILE_BYTES })) {
      if (entry.type !== 'file' || hidden(entry.path)) continue;
      const name = `${file}:${entry.path}`;
      if (entry.skipped) {
        yield failing(name, new Error(`archive entry of ${entry.size} bytes, over the limit of ${MAX_IMAGE_FILE_BYTES} for one image`));
        continue;
      }
      const data = entry.data;
      yield { name, read: () => Promise.resolve(data) };
    }
  } catch (e) {
    yield failing(file, e as Error);
  }
}

/** Every input under the given paths, in command-line order (folders and archives in name order). */
export async function* listImageInputs(paths: readonly string[]): AsyncGenerator<ImageInput> {
  for (const path of paths) {
    const info = await stat(path).catch((e: Error) => e);
    if (info instanceof Error) yield failing(path, new Error(`cannot read (${info.message})`));
    else if (info.isDirectory()) yield* walk(path);
    else if (ARCHIVE.test(path)) yield* archive(path);
    else yield fileInput(path);
  }
}

// The image files named on a command line: files as given, folders walked recursively (sorted,
// hidden entries skipped) and the file entries of .tar / .tar.gz / .tgz / .zip archives. A path that
// cannot be read becomes an input whose read() fails, so one bad path never hides the others.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareNames } from './class-order.js';
import { readArchiveFile } from './archive-reader.js';

export interface ImageInput {
  /** The file path, or `archive:entry` for an archive member. */
  name: string;
  read(): Promise<Buffer>;
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|zip)$/i;

const failing = (name: string, error: Error): ImageInput => ({ name, read: () => Promise.reject(error) });

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
    else if (entry.isFile()) yield { name: path, read: () => readFile(path) };
  }
}

async function* archive(file: string): AsyncGenerator<ImageInput> {
  try {
    for await (const entry of readArchiveFile(file, { select: ({ path }) => !(path.split('/').pop() ?? '').startsWith('.') })) {
      const base = entry.path.split('/').pop() ?? '';
      if (entry.type !== 'file' || entry.skipped || base.startsWith('.')) continue;
      const data = entry.data;
      yield { name: `${file}:${entry.path}`, read: () => Promise.resolve(data) };
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
    else yield { name: path, read: () => readFile(path) };
  }
}

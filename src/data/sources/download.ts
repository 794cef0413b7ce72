// Downloads a file with a progress bar and checks its MD5 before anything uses it. The bytes go
// to a temporary file that is renamed only after the checksum matches, so an interrupted or
// corrupted download never looks like a finished one.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataFileError } from '../data-error.js';
import { ProgressBar } from '../../util/progress.js';

export async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (error) {
    throw new DataFileError(file, `cannot read file to check its MD5 (${(error as Error).message})`, { cause: error });
  }
  return hash.digest('hex');
}

/** Throws a DataFileError naming the file when its MD5 differs from `expected`. */
export async function verifyMd5(file: string, expected: string): Promise<void> {
  const actual = await md5OfFile(file);
  if (actual !== expected.toLowerCase()) {
    throw new DataFileError(file, `checksum mismatch: MD5 is ${actual} but expected ${expected}; the file is corrupt or incomplete, delete it and fetch it again`);
  }
}

export interface DownloadOptions {
  /** Expected MD5 (hex); the file is removed and an error thrown when it differs. */
  md5?: string;
  /** Draw a progress bar on stderr (default true). */
  progress?: boolean;
}

export async function downloadFile(url: string, destination: string, options: DownloadOptions = {}): Promise<void> {
  await mkdir(dirname(destination), { recursive: true });
  const temporary = `${destination}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new DataFileError(url, `download failed (${reason}); without network access, download it elsewhere and pass the local file as the source`, { cause: error });
  }
  if (!response.ok || !response.body) {
    throw new DataFileError(url, `download failed with HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get('content-length')) || undefined;
  const bar = options.progress === false ? undefined : new ProgressBar({ label: `Downloading ${url}`, total, unit: 'B' });
  const hash = createHash('md5');
  const handle = await open(temporary, 'w');
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await handle.write(chunk);
      received += chunk.length;
      bar?.update(received);
    }
    bar?.finish();
    await handle.close();
    if (total !== undefined && received !== total) {
      throw new DataFileError(url, `download incomplete: received ${received} of ${total} bytes`);
    }
    const actual = hash.digest('hex');
    if (options.md5 && actual !== options.md5.toLowerCase()) {
      throw new DataFileError(url, `checksum mismatch: downloaded MD5 is ${actual} but expected ${options.md5}`);
    }
    await rename(temporary, destination);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(url, `download failed (${(error as Error).message})`, { cause: error });
  }
}

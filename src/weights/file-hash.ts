// torchvision's published files carry the first hex digits of their SHA-256 in the name
// (resnet18-f37072fd.pth); torch.hub checks it on download, and so do we on load.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { openInputFile } from '../util/input-file.js';

/** The hash prefix a file name declares ('-' then at least 8 hex digits before the extension), or null. */
export function declaredHashPrefix(path: string): string | null {
  const m = /-([0-9a-f]{8,64})\.[A-Za-z0-9]+$/.exec(basename(path));
  return m ? m[1] : null;
}

/** The SHA-256 of a regular file, read in chunks up to its size when opened. */
export async function sha256File(path: string): Promise<string> {
  const { handle, size } = await openInputFile(path, { what: 'weights file' });
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(Math.min(size, 1 << 20));
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - at), at);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** Throws when the name declares a hash prefix that the content does not have; returns the prefix checked, if any. */
export async function verifyDeclaredHash(path: string): Promise<string | null> {
  const prefix = declaredHashPrefix(path);
  if (!prefix) return null;
  const actual = await sha256File(path);
  if (!actual.startsWith(prefix)) {
    throw new Error(`weights: ${path} is damaged or not the published file: its name says SHA-256 ${prefix}…, its content hashes to ${actual.slice(0, prefix.length)}… ` +
      '(download it again; pass verifyHash: false to load a renamed file anyway)');
  }
  return prefix;
}

// A zip archive held in memory (torch.save's files are zips of stored entries), whose entries are
// inflated one at a time on request: a checkpoint needs only data.pkl and the storages its pickle
// names, and each entry's declared size is checked against the limits before a byte is inflated.
import yauzl from 'yauzl';
import { DEFAULT_MAX_INPUT_BYTES } from '../util/input-file.js';

/** Deflate can reach about 1032×; real tensors compress by a few times, so more than this is a bomb. */
const MAX_RATIO = 100;
/** Cap on the bytes inflated from one archive, all entries together. */
const MAX_INFLATED = DEFAULT_MAX_INPUT_BYTES;

export interface ZipArchive {
  /** The names of its files (folders left out). */
  readonly names: string[];
  /** An entry's size once read, as the zip's directory declares it; undefined when there is no such entry. */
  size(name: string): number | undefined;
  /** One entry's bytes (yauzl checks that they are exactly the declared size). */
  read(name: string): Promise<Buffer>;
}

export function openZip(buf: Buffer, source: string): Promise<ZipArchive> {
  const bad = (why: string): Error => new Error(`zip: ${source} is not a readable zip archive: ${why}`);
  return new Promise((resolvePromise, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(bad(`${err?.message ?? 'unknown error'} (truncated or damaged file?)`));
      const entries = new Map<string, yauzl.Entry>();
      let inflated = 0;
      const read = (name: string): Promise<Buffer> => new Promise((done, fail) => {
        const entry = entries.get(name);
        if (!entry) return fail(bad(`it has no entry ${name}`));
        const size = entry.uncompressedSize;
        if (entry.compressionMethod !== 0 && size > MAX_RATIO * Math.max(entry.compressedSize, 1)) {
          return fail(bad(`entry ${name} would inflate ${entry.compressedSize} bytes into ${size}, more than ${MAX_RATIO} times (a zip bomb?)`));
        }
        if (inflated + size > MAX_INFLATED) return fail(bad(`its entries would inflate to more than ${MAX_INFLATED} bytes (entry ${name} declares ${size})`));
        inflated += size;
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return fail(bad(`entry ${name}: ${e?.message ?? 'cannot be opened'}`));
          const out = Buffer.allocUnsafe(size);
          let filled = 0;
          stream.on('data', (c: Buffer) => { filled += c.copy(out, filled); });
          stream.on('error', (se: Error) => {
            stream.destroy();
            fail(bad(`entry ${name}: ${se.message}`));
          });
          stream.on('end', () => done(out));
        });
      });
      zip.on('error', (e: Error) => reject(bad(e.message)));
      zip.on('end', () => resolvePromise({ names: [...entries.keys()], size: (name) => entries.get(name)?.uncompressedSize, read }));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
        zip.readEntry();
      });
      zip.readEntry();
    });
  });
}

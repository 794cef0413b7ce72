// Every entry of a zip archive held in memory, by name (torch.save's files are zips of stored entries).
import yauzl from 'yauzl';

export function readZipEntries(buf: Buffer, source: string): Promise<Map<string, Buffer>> {
  const bad = (why: string): Error => new Error(`zip: ${source} is not a readable zip archive: ${why}`);
  return new Promise((resolvePromise, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(bad(`${err?.message ?? 'unknown error'} (truncated or damaged file?)`));
      const entries = new Map<string, Buffer>();
      zip.on('error', (e: Error) => reject(bad(e.message)));
      zip.on('end', () => resolvePromise(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(bad(`entry ${entry.fileName}: ${e?.message ?? 'cannot be opened'}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (se: Error) => reject(bad(`entry ${entry.fileName}: ${se.message}`)));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

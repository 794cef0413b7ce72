// Training image names as a client may see them. A detector or index stores each image's name as
// the data loader gave it: `<folder>/<path>` or `<archive>:<entry>`, absolute paths on the machine
// that fitted it. An answer names the image relative to its data source (`train/cat/4708.jpg`),
// never the server's file system.

/** `name` relative to `source` (the data source the names came from); else its base name. */
export function publicName(name: string, source: string): string {
  for (const separator of [':', '/']) {
    if (source && name.startsWith(source + separator)) return name.slice(source.length + 1);
  }
  return name.split(/[/\\:]/).pop()!;
}

/** Every name of a detector's or an index's manifest as publicName gives it (null stays null). */
export const publicNames = (names: string[] | null, source: string | undefined): string[] | null =>
  names?.map((n) => publicName(String(n), typeof source === 'string' ? source : '')) ?? null;

// The web page's files (plain HTML, JS and CSS: no build step, no CDN), read once from the
// package's src/serve/page folder, which resolves the same from src/ and from the compiled
// dist/src/serve/.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PageFile {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The page's files: URL path → content. */
export const PAGE_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css', '/favicon.svg': 'favicon.svg' };

/** The folder holding the page's files: next to this module's source, from src/ or dist/src/. */
export function pageDirectory(): string {
  const candidates = [new URL('./page/', import.meta.url), new URL('../../../src/serve/page/', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((d) => existsSync(`${d}index.html`));
  if (!found) throw new Error(`serve: the web page's files are missing; looked in ${candidates.join(' and ')}`);
  return found;
}

export function loadPage(dir = pageDirectory()): Map<string, PageFile> {
  return new Map(Object.entries(PAGE_FILES).map(([url, file]) => [url, { body: readFileSync(`${dir}${file}`), contentType: CONTENT_TYPES[file.split('.').pop()!] }]));
}

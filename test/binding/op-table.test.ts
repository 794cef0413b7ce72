// The native op table is listed once (NATIVE_OPS in src/binding/native.ts; the compiler checks that
// the NativeBinding interface has exactly those keys). Here: the loaded addon exports exactly those
// names, and every entry is called by some wrapper in src or listed as intentionally raw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { NATIVE_OPS, RAW_NATIVE_OPS, native } from '../../src/binding/native.js';
import { repoRoot } from '../helpers.js';

const listed: readonly string[] = NATIVE_OPS;

test('the loaded addon exports exactly the entries of NATIVE_OPS', () => {
  const raw = createRequire(import.meta.url)(join(repoRoot, 'native', 'build', 'Release', 'deepmetric.node')) as Record<string, unknown>;
  const exported = Object.keys(raw);
  assert.deepEqual(exported.filter((k) => !listed.includes(k)), [], 'exported by the addon but missing from NATIVE_OPS');
  assert.deepEqual(listed.filter((k) => !exported.includes(k)), [], 'in NATIVE_OPS but not exported by the addon');
  assert.equal(new Set(listed).size, listed.length, 'NATIVE_OPS lists each entry once');
  assert.deepEqual(Object.keys(native).sort(), [...exported].sort(), 'the wrapped binding keeps every entry');
  for (const name of listed) assert.equal(typeof raw[name], 'function', `${name} is a function`);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

test('every native entry is called by a wrapper in src, or listed in RAW_NATIVE_OPS', () => {
  const src = join(repoRoot, 'src');
  const binding = join(src, 'binding', 'native.ts');
  const files = sourceFiles(src).filter((f) => f !== binding);
  const callers = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?<![\w/.-])native\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const list = callers.get(match[1]) ?? [];
      list.push(relative(repoRoot, file));
      callers.set(match[1], list);
    }
  }
  assert.ok(callers.size > 100, `the scan found native calls (${callers.size} entries)`);
  const unused = listed.filter((name) => !callers.has(name) && !RAW_NATIVE_OPS.includes(name as never));
  assert.deepEqual(unused, [], 'entries no wrapper calls: wrap them or add them to RAW_NATIVE_OPS with a reason');
  const rawButUsed = RAW_NATIVE_OPS.filter((name) => callers.has(name));
  assert.deepEqual(rawButUsed, [], 'listed as raw but called by a wrapper: remove them from RAW_NATIVE_OPS');
  const unknown = [...callers.keys()].filter((name) => !listed.includes(name));
  assert.deepEqual(unknown, [], 'native.<name> in src that is not in NATIVE_OPS');
});

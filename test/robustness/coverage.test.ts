// Counts the distinct bad inputs the robustness suite covers (the badInput ids of every file in
// this folder) and prints the count; also refuses an id declared twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

test('the robustness suite covers distinct bad inputs, and says how many', (t) => {
  const ids: string[] = [];
  for (const file of readdirSync(here).filter((f) => /\.test\.(js|ts)$/.test(f)).sort()) {
    const source = readFileSync(`${here}/${file}`, 'utf8');
    for (const m of source.matchAll(/badInput\(\s*'([^']+)'/g)) ids.push(m[1]);
  }
  const seen = new Set<string>();
  for (const id of ids) {
    assert.ok(!seen.has(id), `bad input '${id}' is declared twice`);
    seen.add(id);
  }
  assert.ok(seen.size > 0);
  const message = `robustness suite: ${seen.size} distinct bad inputs covered`;
  t.diagnostic(message);
});

// Counts the distinct bad inputs the robustness suite covers (the badInput ids of every file in
// this folder, and the caseId ids of tables of cases) and prints the count; also refuses an id
// declared twice, and an id built from a template (it could not be counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Every test file of the suite but this one, whose own text names the patterns it looks for.
const caseFiles = (): string[] => readdirSync(here).filter((f) => /\.test\.(js|ts)$/.test(f) && !f.startsWith('coverage.')).sort();

test('the robustness suite covers distinct bad inputs, and says how many', (t) => {
  const ids: string[] = [];
  for (const file of caseFiles()) {
    const source = readFileSync(`${here}/${file}`, 'utf8');
    // Ids are literals: badInput('area/what', …), or caseId('area/what') in a table of cases.
    for (const m of source.matchAll(/\b(?:badInput|caseId)\(\s*'([^']+)'/g)) ids.push(m[1]);
  }
  for (const file of caseFiles()) {
    const uncounted = readFileSync(`${here}/${file}`, 'utf8').match(/\bbadInput\(\s*`[^`]*`/);
    assert.equal(uncounted, null, `${file}: ${uncounted?.[0]}: a computed id cannot be counted; declare each case's id with caseId('area/what') in a table`);
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

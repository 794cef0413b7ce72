// Counts the `as` casts in src/cli with the TypeScript parser (so strings, comments and
// `import { x as y }` never count), split into casts of a parsed command-line option
// (`o.epochs as number`, `o['max-train'] as number`) and all other casts.
//
//   node bench/deps/count-casts.mjs [folder, default src/cli]
//
// Needs only the project's own typescript package (no scratch install).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { REPO } from './common.mjs';

const folder = join(REPO, process.argv[2] ?? 'src/cli');
// Names the command files give the object parseOptions returns.
const OPTION_OBJECTS = new Set(['o', 'opts', 'options', 'parsed', 'values', 'args']);

function isOptionAccess(node) {
  let e = node;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
    return ts.isIdentifier(e.expression) && OPTION_OBJECTS.has(e.expression.text);
  }
  return false;
}

const rows = [];
for (const name of readdirSync(folder).filter((f) => f.endsWith('.ts')).sort()) {
  const text = readFileSync(join(folder, name), 'utf8');
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true);
  const row = { file: name, option: 0, other: 0, asConst: 0 };
  const visit = (node) => {
    if (ts.isAsExpression(node)) {
      const target = node.type.getText(source);
      if (target === 'const') row.asConst++;
      else if (isOptionAccess(node.expression)) row.option++;
      else row.other++;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  rows.push(row);
}
const total = rows.reduce((t, r) => ({ option: t.option + r.option, other: t.other + r.other, asConst: t.asConst + r.asConst }), { option: 0, other: 0, asConst: 0 });
console.log('file                     option-value casts   other casts   as const');
for (const r of rows) console.log(`${r.file.padEnd(24)} ${String(r.option).padStart(18)} ${String(r.other).padStart(13)} ${String(r.asConst).padStart(10)}`);
console.log(`${'total'.padEnd(24)} ${String(total.option).padStart(18)} ${String(total.other).padStart(13)} ${String(total.asConst).padStart(10)}`);

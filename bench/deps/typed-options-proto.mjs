// Prototype, run on a COPY of the sources: how many of src/cli's `as` casts on option values a
// typed parseOptions removes, with no new dependency. It
//  1. gives args.ts a mapped type OptionsOf<spec> (number/boolean/string[]/choice literal, and
//     `| undefined` only for options with neither a default nor an env fallback that yields one),
//  2. turns `const x: CommandSpec = {…}` and `const X: Record<string, OptionSpec> = {…}` into
//     `const x = {…} satisfies …` so the option names and types survive,
//  3. types each helper's `o: ParsedOptions` as OptionsOf<{ options: typeof <group> }> for the
//     option group it reads (a table below),
//  4. deletes every `o.x as T` / `o['x'] as T` cast,
// then runs tsc --noEmit and prints the casts removed and the type errors left (the hand work).
//
//   node bench/deps/typed-options-proto.mjs [copy folder, default /tmp/deps-eval/cli-proto] [--show]
//
// Each run makes a fresh copy of src/ and package.json there (never touching the repository), a
// tsconfig with noEmit, and a link to the repository's node_modules; --show prints every error.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { REPO } from './common.mjs';

const root = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '/tmp/deps-eval/cli-proto');
if (root === REPO || root.startsWith(`${REPO}/`)) throw new Error(`Expected a folder outside the repository for the copy but received ${root}`);
mkdirSync(root, { recursive: true });
rmSync(join(root, 'src'), { recursive: true, force: true });
cpSync(join(REPO, 'src'), join(root, 'src'), { recursive: true });
cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noImplicitOverride: true, noUnusedLocals: true, noEmit: true, skipLibCheck: true },
  include: ['src'],
}));
if (!existsSync(join(root, 'node_modules'))) symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
const cli = join(root, 'src/cli');
const OPTION_OBJECTS = new Set(['o', 'opts', 'options', 'parsed', 'values', 'args']);

const TYPES = `
/** The parsed value of one option: the spec's type, narrowed to its choices when it has some. */
export type OptionValue<O extends OptionSpec> =
  O['type'] extends 'number' ? number :
  O['type'] extends 'boolean' ? boolean :
  O['type'] extends 'list' ? (O extends { choices: readonly (infer C)[] } ? C[] : string[]) :
  O extends { choices: readonly (infer C)[] } ? C : string;

/** What parseOptions returns for a spec: one typed field per option; undefined only without a default. */
export type OptionsOf<S extends { options: Record<string, OptionSpec> }> = {
  -readonly [K in keyof S['options']]: S['options'][K] extends { default: unknown }
    ? OptionValue<S['options'][K]>
    : OptionValue<S['options'][K]> | undefined;
} & { help?: boolean; _?: string[] };
`;

let args = readFileSync(join(cli, 'args.ts'), 'utf8');
args = args.replace('export type ParsedOptions =', `${TYPES}\nexport type ParsedOptions =`);
args = args.replace('export function parseOptions(spec: CommandSpec, argv: string[]): ParsedOptions & { help?: boolean } {',
  'export function parseOptions<S extends CommandSpec>(spec: S, argv: string[]): OptionsOf<S>;\nexport function parseOptions(spec: CommandSpec, argv: string[]): ParsedOptions & { help?: boolean } {');
args = args.replace(/\n\s*return out;\n\}\n\nfunction convert/, '\n  return out;\n}\n\nfunction convert');
writeFileSync(join(cli, 'args.ts'), args);

// Which option group each helper reads: its parameter `o` gets that group's type.
const HELPER_TYPES = {
  'experiment.ts': 'OptionsOf<{ options: typeof TRAINING_OPTIONS }>',
  'anomaly-quality.ts': 'OptionsOf<{ options: typeof QUALITY_OPTIONS & typeof TRAINING_OPTIONS }>',
  'distributed-options.ts': 'OptionsOf<{ options: typeof DISTRIBUTED_OPTIONS }>',
  'anomaly.ts': 'OptionsOf<typeof anomalySpec>',
  'compare.ts': 'OptionsOf<typeof compareSpec>',
  'fit-detector.ts': 'OptionsOf<typeof fitDetectorSpec>',
  'split-data.ts': 'OptionsOf<{ options: typeof TRAINING_OPTIONS }>',
};

let removed = 0;
for (const name of readdirSync(cli).filter((f) => f.endsWith('.ts') && f !== 'args.ts')) {
  const file = join(cli, name);
  let text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true);
  const edits = [];
  const visit = (node) => {
    if (ts.isVariableDeclaration(node) && node.type && node.initializer && ts.isObjectLiteralExpression(node.initializer)) {
      const t = node.type.getText(source);
      if (t === 'CommandSpec' || t === 'Record<string, OptionSpec>') {
        edits.push({ start: node.name.end, end: node.type.end, text: '' });
        edits.push({ start: node.initializer.end, end: node.initializer.end, text: ` satisfies ${t}` });
      }
    }
    if (ts.isParameter(node) && node.type?.getText(source) === 'ParsedOptions' && node.name.getText(source) === 'o' && HELPER_TYPES[name]) {
      edits.push({ start: node.type.getStart(source), end: node.type.end, text: HELPER_TYPES[name] });
    }
    if (ts.isAsExpression(node)) {
      let e = node.expression;
      while (ts.isParenthesizedExpression(e)) e = e.expression;
      if ((ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && ts.isIdentifier(e.expression) && OPTION_OBJECTS.has(e.expression.text)) {
        edits.push({ start: node.expression.end, end: node.end, text: '' });
        removed++;
        return; // nested casts inside are gone with this one
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  edits.sort((a, b) => b.start - a.start);
  for (const e of edits) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  if (HELPER_TYPES[name]) {
    const imports = text.split('\n').filter((l) => l.startsWith('import')).join('\n');
    if (!/\bOptionsOf\b/.test(imports)) text = `import type { OptionsOf } from './args.js';\n${text}`;
    if (HELPER_TYPES[name].includes('TRAINING_OPTIONS') && name !== 'experiment.ts' && !/\bTRAINING_OPTIONS\b/.test(imports)) {
      text = `import { TRAINING_OPTIONS } from './experiment.js';\n${text}`;
    }
  }
  writeFileSync(file, text);
}
let out = '';
try {
  out = execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', root], { encoding: 'utf8' });
} catch (e) {
  out = e.stdout;
}
const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
const perFile = {};
for (const l of errors) {
  const f = l.split('(')[0].replace(/^.*src\//, 'src/');
  perFile[f] = (perFile[f] ?? 0) + 1;
}
console.log(`option-value casts removed: ${removed}; type errors left: ${errors.length}`);
for (const [f, n] of Object.entries(perFile).sort()) console.log(`  ${f}: ${n}`);
if (process.argv.includes('--show')) console.log(errors.join('\n'));

// The layering the code keeps (see the README's Layout section): read from the import lines of
// src/, so a change that runs an import back up the layers, lets the library reach into the CLI,
// or makes one command depend on another fails here rather than in a review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './helpers.js';

const src = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'vendor' || e.name === 'page' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of every source file, as [importing file, imported file], both relative to src/. */
const edges: Array<[string, string]> = sourceFiles(src).flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map(
    (m): [string, string] => [relative(src, file), relative(src, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts')]);
});

const folderOf = (path: string): string => (path.includes('/') ? path.split('/')[0] : path);

// Bottom to top: a file may import its own layer and those below. An entry is a folder of src/, or
// a file where one file sits lower than its folder (the safetensors codec under the bundles built on it).
const LAYERS: string[][] = [
  ['errors.ts', 'binding'], ['tensor'], ['util'], ['serialize/safetensors.ts', 'serialize/npy.ts'], ['nn'], ['models', 'distances', 'losses', 'optim'],
  ['data'], ['serialize'], ['weights', 'distributed', 'inference'], ['train'], ['eval'], ['report'], ['experiment'], ['anomaly'], ['search', 'export'],
  ['serve'], ['cli'], ['index.ts'],
];
const layerOf = (path: string): number => {
  const own = LAYERS.findIndex((l) => l.includes(path));
  return own >= 0 ? own : LAYERS.findIndex((l) => l.includes(folderOf(path)));
};

test('no import runs up the layers', () => {
  const upward = edges.filter(([from, to]) => layerOf(to) > layerOf(from)).map(([from, to]) => `${from} → ${to}`);
  assert.deepEqual(upward, []);
  const unplaced = [...new Set(edges.flat())].filter((p) => layerOf(p) < 0);
  assert.deepEqual(unplaced, [], 'every folder of src/ has a place in LAYERS');
});

test('the library never imports the CLI', () => {
  assert.deepEqual(edges.filter(([from, to]) => folderOf(from) !== 'cli' && folderOf(to) === 'cli').map(([f, t]) => `${f} → ${t}`), []);
});

test('no command imports another command', () => {
  const main = readFileSync(join(src, 'cli', 'main.ts'), 'utf8');
  const commandFiles = new Set([...main.matchAll(/import \{ (\w+)Command[^}]*\} from '\.\/([\w-]+)\.js'/g)].map((m) => `cli/${m[2]}.ts`));
  assert.ok(commandFiles.size >= 10, `found the command files (${[...commandFiles].join(', ')})`);
  const crossing = edges.filter(([from, to]) => commandFiles.has(from) && commandFiles.has(to) && from !== to).map(([f, t]) => `${f} → ${t}`);
  assert.deepEqual(crossing, []);
});

test('no command file is over 250 lines', () => {
  const long = sourceFiles(join(src, 'cli')).map((f) => [relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 250);
  assert.deepEqual(long, []);
});

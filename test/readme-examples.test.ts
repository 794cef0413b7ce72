// Every README code block that imports 'deepmetric' runs as a user would run it: transpiled, in a
// folder of its own that resolves 'deepmetric' to this package through its `exports` map, with the
// files the examples name (photos/, a fitted detector, new images) made first.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './helpers.js';
import { writeColourFolder } from './cli/synthetic-folder.js';

/** The ```ts / ```js blocks of a Markdown file that import from 'deepmetric'. */
export function packageExamples(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```(?:ts|js)\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  return blocks.filter((code) => /from 'deepmetric'/.test(code));
}

const work = mkdtempSync(join(tmpdir(), 'dm-readme-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('README examples import from the package name and run', async () => {
  const examples = packageExamples(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
  assert.ok(examples.length >= 2, `expected the README's library examples, found ${examples.length}`);
  // What the examples name: photos/ as the README's "your own images" section lays it out, a
  // detector fitted on it by the CLI, and new images to score.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(repoRoot, join(work, 'node_modules', 'deepmetric'), 'dir');
  const photos = join(work, 'photos');
  await writeColourFolder(photos, { train: 16, test: 6 }, { good: [200, 40, 40] }, 1);
  await writeColourFolder(join(work, 'odd'), { train: 0, test: 2 }, { odd: [40, 40, 200] }, 2);
  mkdirSync(join(work, 'new'));
  for (const [i, f] of readdirSync(join(work, 'odd', 'test', 'odd')).entries()) copyFileSync(join(work, 'odd', 'test', 'odd', f), join(work, 'new', `${i}${f.slice(f.lastIndexOf('.'))}`));
  const env = { ...process.env, DEEPMETRIC_NUM_THREADS: '1', DEEPMETRIC_CACHE: join(work, 'cache') };
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'fit-detector', '--data', 'photos', '--normal', 'good', '--method', 'autoencoder',
    '--epochs', '1', '--batch-size', '8', '--out', 'runs/detector'], { cwd: work, env, stdio: 'pipe' });
  for (const [i, code] of examples.entries()) {
    const file = join(work, `example-${i}.mjs`);
    writeFileSync(file, ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText);
    try {
      execFileSync(process.execPath, [file], { cwd: work, env, stdio: 'pipe' });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer };
      assert.fail(`README example ${i + 1} failed:\n${code}\n--- stderr ---\n${err.stderr?.toString() ?? e}`);
    }
  }
});

test('packageExamples finds exactly the blocks that import the package', () => {
  const md = "text\n```ts\nimport { tidy } from 'deepmetric';\n```\n```bash\nnpx deepmetric\n```\n```js\nimport x from 'sharp';\n```\n";
  assert.deepEqual(packageExamples(md), ["import { tidy } from 'deepmetric';\n"]);
});

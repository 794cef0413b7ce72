// Hostile run descriptions (--config): a FIFO or a device named as the file, a YAML alias bomb, an
// oversized file, keys that would reach Object.prototype. Each is refused before anything runs, in a
// child process, with a message naming the file, and bounded time and memory.
// (test/cli/config-file.test.ts checks the ordinary mistakes: wrong types, unknown keys, bad YAML.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, runCli, tempDir } from './bad-input.js';

const root = tempDir('config');

/** `compare --config FILE --print-config`: parsing alone, nothing trains. */
const printConfig = (file: string) => runCli(['compare', '--config', file, '--print-config'], { killAfterMs: 30_000 });

function refused(r: Awaited<ReturnType<typeof runCli>>, pattern: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal} (a hang or a crash)`);
  assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.ok(r.peakRssMb < 600, `peak RSS ${r.peakRssMb} MB`);
}

badInput('config/fifo', '--config naming a FIFO is refused at once, not waited on', async () => {
  const fifo = join(root, 'run.yaml');
  execFileSync('mkfifo', [fifo]);
  refused(await printConfig(fifo), /cannot read config file .*run\.yaml: it is a FIFO/);
});

badInput('config/dev-zero', '--config /dev/zero (renamed by a symlink to .yaml) is refused, not read for ever', async () => {
  const link = join(root, 'zero.yaml');
  execFileSync('ln', ['-s', '/dev/zero', link]);
  refused(await printConfig(link), /cannot read config file .*zero\.yaml: it is a character device/);
});

badInput('config/yaml-alias-bomb', 'a "billion laughs" YAML file is refused with bounded memory', async () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  const names = 'abcdefghijk';
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(10).fill(`*${names[i - 1]}`).join(', ')}]`);
  const file = join(root, 'laughs.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  refused(await printConfig(file), /laughs\.yaml: not valid YAML: Excessive alias count/);
});

badInput('config/oversized', 'a 4 MiB config file is refused before it is parsed', async () => {
  const file = join(root, 'big.json');
  writeFileSync(file, `{"epochs": 1, "pad": "${'x'.repeat(4 * 1024 ** 2)}"}`);
  refused(await printConfig(file), /cannot read config file .*big\.json: it has \d+ bytes, more than the limit of 1048576/);
});

badInput('config/proto-key', 'a config file with __proto__ and constructor keys is refused as unknown options, not merged into Object.prototype', async () => {
  const file = join(root, 'proto.json');
  writeFileSync(file, '{"__proto__": {"epochs": 99}, "constructor": {"prototype": {"polluted": 1}}}');
  refused(await printConfig(file), /proto\.json: unknown option '(__proto__|constructor)'/);
});

badInput('config/deep-nesting', 'a config value nested 100,000 lists deep is refused with a short message, not a stack overflow', async () => {
  const file = join(root, 'deep.json');
  writeFileSync(file, `{"heads": ${'['.repeat(100_000)}"softmax"${']'.repeat(100_000)}}`);
  const r = await printConfig(file);
  refused(r, /deep\.json: (heads: expected a list|not valid JSON)/);
  assert.doesNotMatch(r.stderr, /Maximum call stack/);
  assert.ok(r.stderr.length < 2000, `a message of ${r.stderr.length} characters`);
});

badInput('config/deep-yaml', 'a YAML config nested 20,000 flow lists deep says it nests too deeply', async () => {
  const file = join(root, 'deep.yaml');
  writeFileSync(file, `heads: ${'['.repeat(20_000)}softmax${']'.repeat(20_000)}\n`);
  const r = await printConfig(file);
  refused(r, /deep\.yaml: not valid YAML: it nests too deeply/);
});

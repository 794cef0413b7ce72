// Runs described by a config file (--config run.yaml|run.json): values checked against the
// command's spec with errors naming the file and the field, precedence command line > file >
// environment > default, paths relative to the file, --print-config / --print-schema, the committed
// docs/schemas equal to the generated ones, and end to end: compare and fit-detector from a file,
// a flag overriding it, the resolved options recorded in results.json and detector.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { commandOutput, helpText, parseOptions, runDescription, UsageError } from '../../src/cli/args.js';
import { checkConfig, closestKey, MAX_CONFIG_BYTES, parseConfigText } from '../../src/cli/config-file.js';
import { commandSchema } from '../../src/cli/json-schema.js';
import { InputFileError } from '../../src/util/input-file.js';
import { compareSpec, compareCommand, trainSpec, type CompareResults } from '../../src/cli/compare.js';
import { anomalySpec } from '../../src/cli/anomaly.js';
import { serveSpec } from '../../src/cli/serve.js';
import { fitDetectorCommand } from '../../src/cli/fit-detector.js';
import { COMMAND_SPECS, staleSchemaFiles } from '../../scripts/config-schemas.js';
import { liveTensors } from '../../src/index.js';
import { quietly, repoRoot } from '../helpers.js';
import { writeColourFolder, writeSyntheticFolder } from './synthetic-folder.js';

const root = mkdtempSync(join(tmpdir(), 'dm-config-'));
const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
let n = 0;
/** Writes `text` to a new file `name` in its own folder; returns its path. */
function file(name: string, text: string | Buffer): string {
  const dir = join(root, `f${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}
const usage = (pattern: RegExp) => (e: Error) => e instanceof UsageError && pattern.test(e.message);
/** Runs with one environment variable set (or removed), then restores it. */
function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

test('YAML and JSON files set options; command line > file > environment > default', () => {
  const yaml = file('run.yaml', 'epochs: 7\nlr: 1e-3\naugment: true\nheads: [softmax, arcface]\nbackbone: convnet\nthreads: 2\n');
  const o = withEnv('DEEPMETRIC_NUM_THREADS', '3', () => parseOptions(compareSpec, ['--config', yaml, '--backbone', 'resnet18-cifar']));
  assert.equal(o.epochs, 7);
  assert.equal(o.lr, 1e-3);
  assert.equal(o.augment, true);
  assert.deepEqual(o.heads, ['softmax', 'arcface']);
  assert.equal(o.backbone, 'resnet18-cifar', 'the command line overrides the file');
  assert.equal(o.threads, 2, 'the file overrides the environment');
  assert.equal(o['batch-size'], 128, 'defaults fill the rest');
  const envOnly = file('run.json', JSON.stringify({ epochs: 2, heads: 'softmax, l2softmax' }));
  assert.equal(withEnv('DEEPMETRIC_NUM_THREADS', '3', () => parseOptions(compareSpec, ['--config', envOnly])).threads, 3, 'the environment applies when neither sets it');
  assert.deepEqual(parseOptions(compareSpec, ['--config', envOnly]).heads, ['softmax', 'l2softmax'], 'a list may be the command line\'s comma-separated form');
  // null = unset: the environment or the default applies
  const nulls = file('null.yaml', 'epochs: null\nthreads: ~\n');
  const on = withEnv('DEEPMETRIC_NUM_THREADS', '5', () => parseOptions(compareSpec, ['--config', nulls]));
  assert.deepEqual([on.epochs, on.threads], [10, 5]);
  assert.deepEqual(parseOptions(compareSpec, ['--config', file('empty.yaml', '')]).epochs, 10, 'an empty YAML file sets nothing');
  assert.equal(parseOptions(compareSpec, ['--config', file('s.yaml', '$schema: ../docs/schemas/compare.schema.json\nepochs: 1\n')]).epochs, 1, "'$schema' is ignored");
  // string options take YAML's numbers as text (image-size: 64)
  assert.equal(parseOptions(compareSpec, ['--config', file('n.yaml', 'image-size: 64\n')])['image-size'], '64');
});

test("relative paths in a file are relative to its folder; the command line's stay as given", () => {
  const path = file('run.yaml', 'data: images/\nout: ../runs/a\ncache-dir: /abs/cache\nweights: w.pth\n');
  const dir = resolve(path, '..');
  const o = parseOptions(compareSpec, ['--config', path]);
  assert.equal(o.data, join(dir, 'images'));
  assert.equal(o.out, resolve(dir, '..', 'runs', 'a'));
  assert.equal(o['cache-dir'], '/abs/cache');
  assert.equal(o.weights, join(dir, 'w.pth'));
  assert.equal(parseOptions(compareSpec, ['--config', path, '--out', 'rel/out']).out, 'rel/out');
  const url = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
  assert.equal(parseOptions(compareSpec, ['--config', file('u.yaml', `data: ${url}\n`)]).data, url, 'URLs are not paths');
  assert.equal(parseOptions(compareSpec, ['--config', file('h.yaml', 'head-options: \'{"arcface":{"margin":0.3}}\'\n')])['head-options'], '{"arcface":{"margin":0.3}}', 'other strings untouched');
});

test('bad values are refused naming the file and the field; unknown keys get the nearest known one', () => {
  const bad = (name: string, text: string, pattern: RegExp) => {
    const path = file(name, text);
    assert.throws(() => parseOptions(compareSpec, ['--config', path]), usage(pattern), text);
  };
  bad('run.yaml', 'epochs: ten\n', /^.*run\.yaml: epochs: expected an integer ≥ 0 but received "ten"$/);
  bad('run.yaml', 'epochs: "10"\n', /run\.yaml: epochs: expected an integer ≥ 0 but received "10"/);
  bad('run.yaml', 'epochs: 1.5\n', /epochs: expected an integer ≥ 0 but received 1\.5/);
  bad('run.yaml', 'batch-size: 1\n', /batch-size: expected an integer ≥ 2 but received 1/);
  bad('run.yaml', 'lr: .nan\n', /lr: expected a number but received NaN/);
  bad('run.yaml', 'augment: yes\n', /augment: expected true or false but received "yes"/);
  bad('run.yaml', 'backbone: vgg\n', /backbone: expected one of mobilenetv2, .* but received "vgg"/);
  bad('run.yaml', 'heads: []\n', /heads: expected a list .* but received a list \[\]/);
  bad('run.yaml', 'heads: [softmax, {a: 1}]\n', /heads: expected a list/);
  bad('run.yaml', 'out: {a: 1}\n', /out: expected a string but received a mapping \{"a":1\}/);
  bad('run.yaml', 'epoch: 3\n', /run\.yaml: unknown option 'epoch' for deepmetric compare; did you mean 'epochs'\?/);
  bad('run.yaml', 'batch_size: 3\n', /unknown option 'batch_size'.*did you mean 'batch-size'\?/);
  bad('run.yaml', 'batchSize: 3\n', /did you mean 'batch-size'\?/);
  bad('run.yaml', 'zzzzzz: 3\n', /unknown option 'zzzzzz' for deepmetric compare \(see deepmetric compare --print-schema\)/);
  bad('run.yaml', '__proto__: 3\n', /unknown option '__proto__'/);
  bad('run.yaml', 'config: other.yaml\n', /run\.yaml: config: cannot be set in a config file/);
  bad('run.yaml', 'epochs: 1\nepochs: 2\n', /run\.yaml: not valid YAML: Map keys must be unique at line 2, column 1/);
  bad('run.yaml', 'heads: [softmax\n', /run\.yaml: not valid YAML: .*line/);
  bad('run.yaml', 'epochs: *x\n', /run\.yaml: not valid YAML/);
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
  bad('run.yaml', `${laughs}\n`, /run\.yaml: not valid YAML: Excessive alias count/);
  bad('run.yaml', '- epochs\n- 3\n', /run\.yaml: expected a mapping of option names to values .* but received a list \["epochs",3\]/);
  bad('run.yaml', '---\nepochs: 1\n---\nepochs: 2\n', /not valid YAML: Source contains multiple documents/);
  bad('run.json', '{"epochs": 1,}', /run\.json: not valid JSON/);
  bad('run.json', '"epochs"', /run\.json: expected a mapping .* but received "epochs"/);
  bad('run.yaml', Buffer.from([0x65, 0x3a, 0x20, 0xff, 0x0a]) as unknown as string, /run\.yaml: expected UTF-8 text/);
  bad('run.txt', 'epochs: 1\n', /Expected a \.yaml, \.yml or \.json file for --config but received '.*run\.txt'/);
  assert.throws(() => parseOptions(compareSpec, ['--config', join(root, 'missing.yaml')]), (e: Error) => e instanceof InputFileError && /cannot read config file .*missing\.yaml: no such file/.test(e.message));
  mkdirSync(join(root, 'folder.yaml'));
  assert.throws(() => parseOptions(compareSpec, ['--config', join(root, 'folder.yaml')]), (e: Error) => e instanceof InputFileError && /folder\.yaml: it is a folder, not a regular file/.test(e.message));
  assert.throws(() => parseOptions(compareSpec, ['--config', file('big.yaml', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`)]), (e: Error) => e instanceof InputFileError && /more than the limit of 1048576/.test(e.message));
  // a wrong value in the file is refused even when the command line sets that option
  assert.throws(() => parseOptions(compareSpec, ['--config', file('run.yaml', 'epochs: ten\n'), '--epochs', '1']), usage(/epochs: expected/));
  assert.equal(closestKey('gradient-clip', Object.keys(compareSpec.options)), undefined, 'no far-fetched suggestion');
  assert.equal(closestKey('lr-schedule', Object.keys(compareSpec.options)), 'schedule');
  assert.equal(closestKey('--max-trian', Object.keys(compareSpec.options)), 'max-train');
});

test('the run description: every option resolved, secrets hidden, kept through spreads; --print-config round-trips', () => {
  const path = file('run.yaml', 'epochs: 4\nhead: arcface\n');
  const o = parseOptions(trainSpec, ['--config', path, '--lr', '0.01']);
  const d = runDescription({ ...o, heads: ['arcface'] })!; // as trainCommand hands it to compare
  assert.equal(d.command, 'train');
  assert.equal(d.config_file, resolve(path));
  assert.deepEqual(Object.keys(d.options), Object.keys(trainSpec.options), 'every option, in spec order');
  assert.equal(d.options.epochs, 4);
  assert.equal(d.options.lr, 0.01);
  assert.equal(d.options.head, 'arcface');
  assert.equal(d.options.out, resolve('runs/train'), 'paths absolute: the description means the same from any folder');
  assert.equal(d.options['projection-dim'], null, 'unset and without default: null');
  assert.ok(!('heads' in d.options), 'keyed by the command\'s own flags');
  const secret = withEnv('DEEPMETRIC_SERVE_TOKEN', 's3cret', () => runDescription(parseOptions(serveSpec, ['--detector', 'd.dmdet']))!);
  assert.equal(secret.options.token, '<hidden>');
  assert.throws(() => parseOptions(serveSpec, ['--config', file('s.yaml', 'token: <hidden>\n')]), usage(/token: received '<hidden>'.*give the value itself or set DEEPMETRIC_SERVE_TOKEN/));
  // --print-config prints what a file must hold to reproduce the run
  const printed = commandOutput(anomalySpec, ['--config', path.replace('run.yaml', 'x.yaml'), '--help']);
  assert.match(printed!, /--config FILE/, '--help wins and does not read the config file');
  const json = commandOutput(trainSpec, ['--config', path, '--lr', '0.01', '--print-config'])!;
  const again = file('again.json', json);
  assert.deepEqual(runDescription(parseOptions(trainSpec, ['--config', again]))!.options, d.options);
  assert.equal(commandOutput(trainSpec, ['--epochs', '3']), undefined, 'nothing to print: the command runs');
});

test('every command: --help lists --config/--print-config/--print-schema; its schema validates --print-config and refuses what the reader refuses', () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  for (const spec of COMMAND_SPECS) {
    const help = helpText(spec);
    for (const flag of ['--config FILE', '--print-config', '--print-schema', 'Precedence: command line > --config file > environment variable']) assert.ok(help.includes(flag), `${spec.name} --help: ${flag}`);
    const validate = ajv.compile(commandSchema(spec));
    const printed = JSON.parse(commandOutput(spec, ['--print-config'])!);
    assert.ok(validate(printed), `${spec.name}: ${JSON.stringify(validate.errors)}`);
    const numeric = Object.entries(spec.options).find(([, o]) => o.type === 'number' && o.integer && o.min !== undefined);
    const bad: Array<Record<string, unknown>> = [{ nosuchoption: 1 }];
    if (numeric) bad.push({ [numeric[0]]: 'ten' }, { [numeric[0]]: numeric[1].min! - 1 });
    for (const doc of bad) {
      assert.ok(!validate(doc), `${spec.name}: schema refuses ${JSON.stringify(doc)}`);
      assert.throws(() => parseOptions(spec, ['--config', file('bad.json', JSON.stringify(doc))]), UsageError, `${spec.name}: reader refuses ${JSON.stringify(doc)}`);
    }
  }
  // lists: both forms, items checked against the choices
  const v = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(commandSchema(anomalySpec));
  assert.ok(v({ score: ['knn', 'msp'], normal: [3, 'cat'], seeds: '0, 1,2' }), JSON.stringify(v.errors));
  assert.ok(v({ score: 'knn,msp' }));
  assert.ok(!v({ score: 'knn,nope' }));
  assert.ok(!v({ score: ['nope'] }));
  assert.ok(!v({ tta: 'rotate' }));
});

test("the README's config file examples are valid for their command", () => {
  const blocks = [...readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const examples = blocks.map((text) => ({ text, command: /deepmetric ([\w-]+) --config/.exec(text)?.[1] })).filter((b) => b.command !== undefined);
  assert.ok(examples.length >= 1, 'the README has a config file example');
  for (const { text, command } of examples) {
    const spec = COMMAND_SPECS.find((s) => s.name === command)!;
    assert.ok(spec, command);
    const values = checkConfig('README.md', parseConfigText('README.md', Buffer.from(text), 'yaml'), spec, root);
    assert.ok(Object.keys(values).length > 3);
  }
});

test('docs/schemas holds the generated schemas of exactly the commands of deepmetric --help', () => {
  assert.deepEqual(staleSchemaFiles(), [], 'run: npx tsc -p . && node dist/scripts/config-schemas.js');
  const listed = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout.split('Commands:')[1].split('\n\n')[0]
    .trim().split('\n').map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual([...listed].sort(), COMMAND_SPECS.map((s) => s.name).sort());
  const schema = spawnSync(process.execPath, [cli, 'compare', '--print-schema'], { encoding: 'utf8' });
  assert.equal(schema.status, 0);
  assert.equal(schema.stdout, readFileSync(join(repoRoot, 'docs', 'schemas', 'compare.schema.json'), 'utf8'));
});

test('the CLI: --print-config prints and exits 0 without running; a bad file exits 2 naming file and field', () => {
  const out = join(root, 'never-written');
  const path = file('run.yaml', `epochs: 2\nout: ${out}\n`);
  const printed = spawnSync(process.execPath, [cli, 'anomaly', '--config', path, '--normal', 'cat', '--print-config'], { encoding: 'utf8' });
  assert.equal(printed.status, 0, printed.stderr);
  const options = JSON.parse(printed.stdout);
  assert.deepEqual([options.epochs, options.normal, options.out, options.anomaly], [2, ['cat'], out, null]);
  assert.throws(() => readFileSync(out), /ENOENT/, 'nothing ran');
  const bad = spawnSync(process.execPath, [cli, 'compare', '--config', file('run.yaml', 'epochs: ten\n')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /deepmetric compare: .*run\.yaml: epochs: expected an integer ≥ 0 but received "ten"\nRun 'deepmetric compare --help' for usage\./);
});

test('end to end: compare from a YAML file, a flag overriding it, results.json recording the resolved options', async () => {
  const dir = join(root, 'e2e');
  await writeSyntheticFolder(join(dir, 'data'), { train: 24, test: 8 });
  const config = join(dir, 'run.yaml');
  writeFileSync(config, ['# compare on the colour folder beside this file', 'data: data', 'cache-dir: cache', 'out: out', 'heads: [l2softmax]',
    'backbone: convnet', 'epochs: 3', 'batch-size: 12', 'lr: 0.003', 'threads: 1', ''].join('\n'));
  const base = liveTensors();
  const results: CompareResults = await quietly(() => compareCommand(['--config', config, '--epochs', '1']));
  assert.equal(liveTensors(), base);
  const json: CompareResults = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
  assert.equal(json.heads.length, 1);
  assert.equal(json.heads[0].history.length, 1, '--epochs 1 overrides the file\'s 3');
  assert.equal(json.config.batchSize, 12, 'the file sets the rest');
  assert.deepEqual(json.run, results.run);
  assert.equal(json.run!.command, 'compare');
  assert.equal(json.run!.config_file, config);
  assert.deepEqual(json.run!.options, { ...runDescription(parseOptions(compareSpec, ['--config', config, '--epochs', '1']))!.options });
  assert.equal(json.run!.options.epochs, 1);
  assert.equal(json.run!.options['batch-size'], 12);
  assert.equal(json.run!.options.data, join(dir, 'data'));
  assert.equal(json.run!.options.optimizer, 'adam-amsgrad', 'defaults included');
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'docs', 'compare-results.schema.json'), 'utf8')));
  assert.ok(validate(json), JSON.stringify(validate.errors));
});

test('end to end: fit-detector from a JSON file records the resolved options in detector.json', async () => {
  const dir = join(root, 'detector');
  await writeColourFolder(join(dir, 'data'), { train: 16, test: 6 }, { good: [200, 40, 40] }, 1);
  const config = join(dir, 'detector.json.d', 'fit.json');
  mkdirSync(join(dir, 'detector.json.d'));
  writeFileSync(config, JSON.stringify({ data: '../data', 'cache-dir': '../cache', normal: ['good'], method: 'autoencoder', epochs: 1, 'batch-size': 8, threads: 1, out: '../det' }));
  const r = await quietly(() => fitDetectorCommand(['--config', config, '--threshold-fpr', '0.2']));
  assert.equal(r.path, join(dir, 'det', 'detector.dmdet'));
  const written = JSON.parse(readFileSync(join(dir, 'det', 'detector.json'), 'utf8'));
  assert.equal(written.run.command, 'fit-detector');
  assert.equal(written.run.options['threshold-fpr'], 0.2);
  assert.equal(written.run.options.method, 'autoencoder');
  assert.equal(written.run.options.data, join(dir, 'data'));
  assert.deepEqual(written.normal_classes, ['good'], 'the manifest is unchanged beside it');
});

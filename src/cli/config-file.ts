// A run described by a file: `--config run.yaml` (or .yml, .json) sets a command's options keyed by
// flag name, e.g. `epochs: 30`. The file is read through the guarded open (1 MiB at most), parsed,
// and every field checked against the command's spec before anything runs: errors name the file and
// the field, unknown keys are refused with the closest known one suggested. Relative paths in the
// file are relative to the file's folder. args.ts merges the result under the command line.
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { readInputFileSync } from '../util/input-file.js';
import type { CommandSpec, OptionSpec } from './args.js';
import { absolutePath, HIDDEN_VALUE, isPathOption, isSecretOption, itemOutsideChoices, numberExpectation, numberFits, splitList, type OptionValue } from './option-values.js';

/** Largest config file read (a run description is a few hundred bytes). */
export const MAX_CONFIG_BYTES = 1024 ** 2;

export const CONFIG_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/** Flags about the invocation itself: never set from a file. */
export const META_FLAGS: readonly string[] = ['help', 'config', 'print-config', 'print-schema'];

/** Keys a file may hold besides options, and that are ignored: '$schema', for editors. */
const IGNORED_KEYS = new Set(['$schema']);

export interface ConfigFile {
  /** The path as given, for messages. */
  path: string;
  /** Its absolute path. */
  resolved: string;
  /** The options it sets, checked and converted (relative paths made absolute); keys absent or null in the file are left out. */
  values: Record<string, OptionValue>;
}

/** Reads, parses and checks `path` for `spec`'s command; a UsageError names the file and the field. */
export function readConfigFile(path: string, spec: CommandSpec): ConfigFile {
  const ext = extname(path).toLowerCase();
  if (!CONFIG_EXTENSIONS.includes(ext)) throw new UsageError(`Expected a .yaml, .yml or .json file for --config but received '${path}'`);
  let bytes: Buffer;
  try {
    bytes = readInputFileSync(path, { what: 'config file', maxBytes: MAX_CONFIG_BYTES });
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message); // an empty path
    throw e; // InputFileError: names the file and why (missing, a folder, too large…)
  }
  const resolved = resolve(path);
  const document = parseConfigText(path, bytes, ext === '.json' ? 'json' : 'yaml');
  return { path, resolved, values: checkConfig(path, document, spec, dirname(resolved)) };
}

/** The document in a config file's bytes (UTF-8; a BOM is skipped); an empty YAML file is an empty mapping. */
export function parseConfigText(label: string, bytes: Uint8Array, format: 'yaml' | 'json'): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${label}: expected UTF-8 text but the file holds other bytes`);
  }
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${label}: not valid JSON: ${(e as Error).message}`);
    }
  }
  try {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, logLevel: 'error' });
    const error = doc.errors[0]?.message;
    if (error !== undefined) throw new UsageError(`${label}: not valid YAML: ${/Maximum call stack/.test(error) ? 'it nests too deeply' : firstLine(error)}`);
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // The YAML parser recurses: thousands of nested brackets end in a RangeError (stack overflow).
    const why = e instanceof RangeError ? 'it nests too deeply' : firstLine((e as Error).message);
    throw new UsageError(`${label}: not valid YAML: ${why}`);
  }
}

const firstLine = (message: string): string => message.split('\n')[0].replace(/:$/, '');

/** Checks a parsed config document against the command's options; `baseDir` anchors relative paths. */
export function checkConfig(label: string, document: unknown, spec: CommandSpec, baseDir: string): Record<string, OptionValue> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new UsageError(`${label}: expected a mapping of option names to values (e.g. epochs: 10) but received ${shown(document)}`);
  }
  const values: Record<string, OptionValue> = {};
  for (const [key, value] of Object.entries(document)) {
    if (IGNORED_KEYS.has(key)) continue;
    if (META_FLAGS.includes(key)) throw new UsageError(`${label}: ${key}: cannot be set in a config file (give --${key} on the command line)`);
    if (!Object.hasOwn(spec.options, key)) {
      const near = closestKey(key, Object.keys(spec.options));
      throw new UsageError(`${label}: unknown option '${key}' for deepmetric ${spec.name}${near ? `; did you mean '${near}'?` : ` (see deepmetric ${spec.name} --print-schema)`}`);
    }
    const o = spec.options[key];
    const checked = checkValue(o, value, (what) => new UsageError(`${label}: ${key}: expected ${what} but received ${shown(value)}`));
    if (checked === undefined) continue;
    if (isSecretOption(key, o) && checked === HIDDEN_VALUE) {
      throw new UsageError(`${label}: ${key}: received '${HIDDEN_VALUE}', what --print-config shows instead of a secret: give the value itself${o.env ? ` or set ${o.env}` : ''}`);
    }
    values[key] = typeof checked === 'string' && isPathOption(key, o) ? absolutePath(checked, baseDir) : checked;
  }
  return values;
}

/** One field's value as the option takes it; undefined for null (unset: environment or default apply). */
function checkValue(o: OptionSpec, v: unknown, fail: (what: string) => Error): OptionValue | undefined {
  if (v === null) return undefined;
  switch (o.type) {
    case 'boolean':
      if (typeof v === 'boolean') return v;
      throw fail('true or false');
    case 'number':
      if (typeof v === 'number' && numberFits(o, v)) return v;
      throw fail(numberExpectation(o));
    case 'string': {
      const choices = o.choices ? `one of ${o.choices.join(', ')}` : 'a string';
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) throw fail(choices);
      const text = String(v);
      if (o.choices && !o.choices.includes(text)) throw fail(choices);
      return text;
    }
    case 'list': {
      const what = `a list${o.choices ? ` of ${o.choices.join(', ')}` : ''} (e.g. [a, b], or a comma-separated string)`;
      const items = typeof v === 'string' ? splitList(v)
        : Array.isArray(v) && v.every((i) => (typeof i === 'string' && i !== '') || (typeof i === 'number' && Number.isFinite(i))) ? v.map(String) : null;
      if (items === null || items.length === 0) throw fail(what);
      const outside = itemOutsideChoices(o, items);
      if (outside !== undefined) throw fail(`items among ${o.choices!.join(', ')} (not '${outside}')`);
      return items;
    }
  }
}

/** How deeply lists and mappings nest in `v`, counted up to `limit` without recursion. */
function depthOf(v: unknown, limit: number): number {
  let level: unknown[] = [v];
  for (let depth = 0; depth <= limit; depth++) {
    const next = level.flatMap((x) => (x !== null && typeof x === 'object' ? Object.values(x) : []));
    if (next.length === 0) return depth;
    level = next;
  }
  return limit + 1;
}

/** A received value for a message: strings quoted, long values cut. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return String(v);
  // JSON.stringify of a value nested thousands deep overflows the stack: no option nests past 2.
  if (depthOf(v, 8) > 8) return `${Array.isArray(v) ? 'a list' : 'a mapping'} nested more than 8 levels deep`;
  const text = v !== null && typeof v === 'object' && !Array.isArray(v) ? `a mapping ${JSON.stringify(v)}` : (Array.isArray(v) ? 'a list ' : '') + JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** 'batch_size', 'batchSize', '--batch-size' → 'batch-size': how people misspell flag names. */
const normalized = (key: string): string => key.replace(/^-+/, '').replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[_\s]+/g, '-').toLowerCase();

/** The known key nearest to `key` (same after normalising, else within a few edits), if any. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const k = normalized(key);
  const same = known.find((name) => name === k);
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(k.length / 3)) + 1;
  for (const name of known) {
    const d = editDistance(k, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

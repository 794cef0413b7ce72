// Declarative command-line options: parsing with node:util, generated --help, checked values; the
// same options from a config file (--config, config-file.ts), printed resolved (--print-config) or
// as a JSON Schema (--print-schema, json-schema.ts). Precedence: command line > config file >
// environment variable > default.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { RunDescription } from '../experiment/run-info.js';
import { META_FLAGS, readConfigFile, type ConfigFile } from './config-file.js';
import { commandSchema } from './json-schema.js';
import { absolutePath, HIDDEN_VALUE, isPathOption, isSecretOption, itemOutsideChoices, numberExpectation, numberFits, splitList, type OptionValue } from './option-values.js';

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean' | 'list';
  description: string;
  default?: string | number | boolean | string[];
  /** Environment variable consulted when the flag is absent. */
  env?: string;
  short?: string;
  choices?: readonly string[];
  min?: number;
  integer?: boolean;
  /** A file or folder: relative in a config file = relative to its folder (default: by flag name, see option-values.ts). */
  path?: boolean;
  /** Never printed by --print-config or recorded in results (default: names with token/secret/password). */
  secret?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage?: string;
  options: Record<string, OptionSpec>;
  examples?: string[];
  /** Arguments without a flag (e.g. image paths), returned as `_`; refused when absent. */
  positionals?: { name: string; description: string };
}

export type { OptionValue };

/** Where parseOptions keeps the run description on the options it returns (spreads copy it along). */
export const RUN_DESCRIPTION: unique symbol = Symbol('deepmetric run description');

export type { RunDescription };

/** Where parseOptions keeps the names of the options the user set (command line or --config file). */
const USER_SET: unique symbol = Symbol('deepmetric options set by the user');

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined> & { [RUN_DESCRIPTION]?: RunDescription; [USER_SET]?: ReadonlySet<string> };

/** Whether the user set option `name` on the command line or in the --config file (not an environment variable or a default). */
export const setByUser = (o: ParsedOptions, name: string): boolean => o[USER_SET]?.has(name) ?? false;

/** The run description parseOptions attached to `o` (kept through `{ ...o, … }`), if any. */
export const runDescription = (o: ParsedOptions): RunDescription | undefined => o[RUN_DESCRIPTION];

/** The positional arguments of a command that takes them. */
export const positionalsOf = (o: ParsedOptions): string[] => (o._ as string[] | undefined) ?? [];

/** Thrown for bad command-line input: printed without a stack, with a pointer to --help. */
export { UsageError };

/** The flags every command takes besides its own, as --help lists them. */
const META_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', description: "Read options from a YAML or JSON file (.yaml, .yml, .json) keyed by flag name, e.g. 'epochs: 30' or 'heads: [softmax, arcface]'; relative paths in it are relative to the file's folder" },
  'print-config': { type: 'boolean', description: 'Print every option with its resolved value (defaults included) as JSON, usable as a --config file, and exit without running' },
  'print-schema': { type: 'boolean', description: "Print the JSON Schema of this command's config file and exit" },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

export function helpText(spec: CommandSpec): string {
  const lines = [`deepmetric ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage ?? `deepmetric ${spec.name} [options]`}`, '', 'Options:'];
  const entries = Object.entries({ ...spec.options, ...META_OPTIONS });
  const flag = (name: string, o: OptionSpec): string =>
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : o.type === 'list' ? ' a,b,…' : o.type === 'number' ? ' N' : name === 'config' ? ' FILE' : ' VALUE'}`;
  const width = Math.max(...entries.map(([n, o]) => flag(n, o).length)) + 2;
  for (const [name, o] of entries) {
    const extras = [
      o.choices ? `one of ${o.choices.join(', ')}` : '',
      o.default !== undefined && o.default !== false ? `default ${Array.isArray(o.default) ? o.default.join(',') : o.default}` : '',
      o.env ? `env ${o.env}` : '',
    ].filter(Boolean).join('; ');
    lines.push(`  ${flag(name, o).padEnd(width)}${o.description}${extras ? ` (${extras})` : ''}`);
  }
  lines.push('', 'Precedence: command line > --config file > environment variable (env) > default.');
  if (spec.positionals) lines.splice(4, 0, 'Arguments:', `  ${spec.positionals.name}  ${spec.positionals.description}`, '');
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

type RawValues = Record<string, string | boolean | undefined>;

/** The command line as node:util reads it: the command's flags and the meta flags, unconverted. */
function readCommandLine(spec: CommandSpec, argv: string[]): { values: RawValues; positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(META_OPTIONS)) config[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  for (const [name, o] of Object.entries(spec.options)) {
    if (META_FLAGS.includes(name)) throw new Error(`deepmetric ${spec.name}: --${name} is a flag of every command and cannot be one of its options`);
    config[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  }
  try {
    return parseArgs({ args: argv, options: config, strict: true, allowPositionals: spec.positionals !== undefined }) as { values: RawValues; positionals: string[] };
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/^TypeError \[\w+\]: /, '')}`);
  }
}

/**
 * The command's options, each from the command line, else the --config file, else its environment
 * variable, else its default; checked against the spec. The result carries the run description
 * (see runDescription). With --help or --print-schema the config file is not read.
 */
export function parseOptions(spec: CommandSpec, argv: string[]): ParsedOptions & { help?: boolean } {
  const { values, positionals } = readCommandLine(spec, argv);
  const informational = values.help === true || values['print-schema'] === true;
  const file: ConfigFile | null = typeof values.config === 'string' && !informational ? readConfigFile(values.config, spec) : null;
  const out: ParsedOptions & { help?: boolean } = { help: values.help === true, ...(spec.positionals ? { _: positionals } : {}) };
  const userSet = new Set<string>();
  for (const [name, o] of Object.entries(spec.options)) {
    let raw: string | boolean | undefined = values[name];
    if (raw !== undefined) userSet.add(name);
    if (raw === undefined && file && Object.hasOwn(file.values, name)) {
      out[name] = file.values[name];
      userSet.add(name);
      continue;
    }
    if (raw === undefined && o.env && process.env[o.env]) raw = o.type === 'boolean' ? process.env[o.env] === '1' || process.env[o.env] === 'true' : process.env[o.env];
    if (raw === undefined) {
      out[name] = o.default;
      continue;
    }
    out[name] = convert(name, o, raw);
  }
  out[USER_SET] = userSet;
  out[RUN_DESCRIPTION] = {
    command: spec.name,
    config_file: file?.resolved ?? null,
    options: Object.fromEntries(Object.entries(spec.options).map(([name, o]) => {
      const v = out[name];
      // paths made absolute (relative ones name the working folder's), so the description means the same anywhere
      return [name, v === undefined ? null : isSecretOption(name, o) ? HIDDEN_VALUE : Array.isArray(v) ? [...v] : typeof v === 'string' && isPathOption(name, o) ? absolutePath(v) : v];
    })),
  };
  return out;
}

/**
 * What the command prints instead of running — its help (--help), its config file's JSON Schema
 * (--print-schema) or its resolved options as JSON (--print-config) — or undefined to run it.
 */
export function commandOutput(spec: CommandSpec, argv: string[]): string | undefined {
  const { values } = readCommandLine(spec, argv);
  if (values.help === true) return helpText(spec);
  if (values['print-schema'] === true) return JSON.stringify(commandSchema(spec), null, 2);
  if (values['print-config'] === true) return JSON.stringify(runDescription(parseOptions(spec, argv))!.options, null, 2);
  return undefined;
}

function convert(name: string, o: OptionSpec, raw: string | boolean): OptionValue {
  if (o.type === 'boolean') return raw === true || raw === 'true' || raw === '1';
  const text = String(raw);
  if (o.type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !numberFits(o, n)) throw new UsageError(`Expected ${numberExpectation(o)} for --${name} but received '${text}'`);
    return n;
  }
  if (o.type === 'list') {
    const items = splitList(text);
    if (items.length === 0) throw new UsageError(`Expected a comma-separated list for --${name} but received '${text}'`);
    const outside = itemOutsideChoices(o, items);
    if (outside !== undefined) throw new UsageError(`Expected --${name} items among ${o.choices!.join(', ')} but received '${outside}'`);
    return items;
  }
  if (o.choices && !o.choices.includes(text)) throw new UsageError(`Expected one of ${o.choices.join(', ')} for --${name} but received '${text}'`);
  return text;
}

// Declarative command-line options: parsing with node:util, generated --help, checked values.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

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

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined>;

/** The positional arguments of a command that takes them. */
export const positionalsOf = (o: ParsedOptions): string[] => (o._ as string[] | undefined) ?? [];

/** Thrown for bad command-line input: printed without a stack, with a pointer to --help. */
export { UsageError };

export function helpText(spec: CommandSpec): string {
  const lines = [`deepmetric ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage ?? `deepmetric ${spec.name} [options]`}`, '', 'Options:'];
  const entries = Object.entries({ ...spec.options, help: { type: 'boolean', description: 'Show this help' } as OptionSpec });
  const flag = (name: string, o: OptionSpec): string =>
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : o.type === 'list' ? ' a,b,…' : o.type === 'number' ? ' N' : ' VALUE'}`;
  const width = Math.max(...entries.map(([n, o]) => flag(n, o).length)) + 2;
  for (const [name, o] of entries) {
    const extras = [
      o.choices ? `one of ${o.choices.join(', ')}` : '',
      o.default !== undefined && o.default !== false ? `default ${Array.isArray(o.default) ? o.default.join(',') : o.default}` : '',
      o.env ? `env ${o.env}` : '',
    ].filter(Boolean).join('; ');
    lines.push(`  ${flag(name, o).padEnd(width)}${o.description}${extras ? ` (${extras})` : ''}`);
  }
  if (spec.positionals) lines.splice(4, 0, 'Arguments:', `  ${spec.positionals.name}  ${spec.positionals.description}`, '');
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function parseOptions(spec: CommandSpec, argv: string[]): ParsedOptions & { help?: boolean } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) config[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: config, strict: true, allowPositionals: spec.positionals !== undefined }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/^TypeError \[\w+\]: /, '')}`);
  }
  const out: ParsedOptions & { help?: boolean } = { help: values.help === true, ...(spec.positionals ? { _: positionals } : {}) };
  for (const [name, o] of Object.entries(spec.options)) {
    let raw: string | boolean | undefined = values[name];
    if (raw === undefined && o.env && process.env[o.env]) raw = o.type === 'boolean' ? process.env[o.env] === '1' || process.env[o.env] === 'true' : process.env[o.env];
    if (raw === undefined) {
      out[name] = o.default;
      continue;
    }
    out[name] = convert(name, o, raw);
  }
  return out;
}

function convert(name: string, o: OptionSpec, raw: string | boolean): string | number | boolean | string[] {
  if (o.type === 'boolean') return raw === true || raw === 'true' || raw === '1';
  const text = String(raw);
  if (o.type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || (o.integer && !Number.isInteger(n)) || (o.min !== undefined && n < o.min)) {
      const what = `${o.integer ? 'an integer' : 'a number'}${o.min !== undefined ? ` ≥ ${o.min}` : ''}`;
      throw new UsageError(`Expected ${what} for --${name} but received '${text}'`);
    }
    return n;
  }
  if (o.type === 'list') {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) throw new UsageError(`Expected a comma-separated list for --${name} but received '${text}'`);
    if (o.choices) for (const i of items) if (!o.choices.includes(i)) throw new UsageError(`Expected --${name} items among ${o.choices.join(', ')} but received '${i}'`);
    return items;
  }
  if (o.choices && !o.choices.includes(text)) throw new UsageError(`Expected one of ${o.choices.join(', ')} for --${name} but received '${text}'`);
  return text;
}

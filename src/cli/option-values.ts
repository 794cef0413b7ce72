// What an option's value must be, read from its OptionSpec: one set of rules for the command line
// (src/cli/args.ts), config files (config-file.ts) and the JSON Schemas (json-schema.ts).
import { resolve } from 'node:path';
import type { OptionSpec } from './args.js';

export type OptionValue = string | number | boolean | string[];

/** "an integer ≥ 1", "a number": what a number option takes. */
export function numberExpectation(o: OptionSpec): string {
  return `${o.integer ? 'an integer' : 'a number'}${o.min !== undefined ? ` ≥ ${o.min}` : ''}`;
}

/** Whether a number fits the option's integer and min constraints. */
export function numberFits(o: OptionSpec, n: number): boolean {
  return Number.isFinite(n) && (!o.integer || Number.isInteger(n)) && (o.min === undefined || n >= o.min);
}

/** A comma-separated list as the command line gives it: items trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The first item not among the option's choices, if any. */
export function itemOutsideChoices(o: OptionSpec, items: readonly string[]): string | undefined {
  return o.choices ? items.find((i) => !o.choices!.includes(i)) : undefined;
}

/**
 * Options that name a file or folder: in a config file their relative values are relative to the
 * file's folder. An OptionSpec says so with `path`; these flag names are paths in every command.
 */
const PATH_FLAGS = new Set(['data', 'cache-dir', 'out', 'weights', 'checkpoint', 'detector', 'index', 'csv', 'report']);

export const isPathOption = (name: string, o: OptionSpec): boolean => o.path ?? (o.type === 'string' && PATH_FLAGS.has(name));

/** A path option's value made absolute against `base`; URLs (--data https://…) are left as they are. */
export const absolutePath = (value: string, base = process.cwd()): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : resolve(base, value));

/** Options whose value is never printed (--print-config, results): tokens and the like. */
export const isSecretOption = (name: string, o: OptionSpec): boolean => o.secret ?? /token|secret|password/i.test(name);

/** What --print-config and results show instead of a secret option's value. */
export const HIDDEN_VALUE = '<hidden>';

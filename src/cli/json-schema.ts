// A command's run description as a JSON Schema (draft-07), derived from its CommandSpec: what a
// --config file may hold, for editors and validators. `deepmetric <command> --print-schema` prints
// it; docs/schemas/<command>.schema.json are the committed copies (scripts/config-schemas.ts).
import type { CommandSpec, OptionSpec } from './args.js';
import { isPathOption } from './option-values.js';

export type JsonSchema = Record<string, unknown>;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The schema of one option's value; null always means "not set" (environment or default apply). */
export function optionSchema(name: string, o: OptionSpec): JsonSchema {
  const notes = [
    o.env ? `Environment variable ${o.env} applies when neither the command line nor the file sets it.` : '',
    isPathOption(name, o) ? "A relative path is relative to the config file's folder." : '',
  ].filter(Boolean);
  const common: JsonSchema = { description: `${o.description}${notes.length > 0 ? `. ${notes.join(' ')}` : ''}`, ...(o.default !== undefined ? { default: o.default } : {}) };
  switch (o.type) {
    case 'boolean':
      return { type: ['boolean', 'null'], ...common };
    case 'number':
      return { type: [o.integer ? 'integer' : 'number', 'null'], ...(o.min !== undefined ? { minimum: o.min } : {}), ...common };
    case 'string':
      return o.choices ? { enum: [...o.choices, null], ...common } : { type: ['string', 'number', 'null'], ...common };
    case 'list': {
      const item = o.choices ? `(?:${o.choices.map(escapeRegExp).join('|')})` : '';
      return {
        anyOf: [
          { type: 'array', minItems: 1, items: o.choices ? { enum: [...o.choices] } : { anyOf: [{ type: 'string', minLength: 1 }, { type: 'number' }] } },
          // the command line's form: comma-separated, blanks and empty items ignored
          { type: 'string', pattern: o.choices ? `^[\\s,]*${item}(?:\\s*,[\\s,]*${item})*[\\s,]*$` : '[^\\s,]' },
          { type: 'null' },
        ],
        ...common,
      };
    }
  }
}

/** The JSON Schema of `deepmetric <spec.name> --config FILE`: every option keyed by flag name, nothing else. */
export function commandSchema(spec: CommandSpec): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://deepmetric.dev/schemas/${spec.name}.schema.json`,
    title: `deepmetric ${spec.name} run description (--config FILE)`,
    description: `${spec.summary}. Options keyed by flag name; the command line overrides the file, which overrides environment variables and defaults. Generated from the command's options: do not edit.`,
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'The schema this file follows (for editors; ignored)' },
      ...Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, optionSchema(name, o)])),
    },
  };
}

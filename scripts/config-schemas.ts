// Writes docs/schemas/<command>.schema.json: the JSON Schema of each command's --config file, as
// `deepmetric <command> --print-schema` prints it (src/cli/json-schema.ts). Rerun after changing a
// command's options; test/cli/config-file.test.ts fails while the committed files differ.
//   npx tsc -p . && node dist/scripts/config-schemas.js           # write
//   npx tsc -p . && node dist/scripts/config-schemas.js --check   # exit 1 when out of date
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CommandSpec } from '../src/cli/args.js';
import { commandSchema } from '../src/cli/json-schema.js';
import { infoSpec } from '../src/cli/info.js';
import { compareSpec, trainSpec } from '../src/cli/compare.js';
import { evalSpec } from '../src/cli/eval.js';
import { embedSpec } from '../src/cli/embed.js';
import { anomalySpec } from '../src/cli/anomaly.js';
import { exportSpec } from '../src/cli/export.js';
import { fitDetectorSpec } from '../src/cli/fit-detector.js';
import { scoreSpec } from '../src/cli/score.js';
import { indexSpec, searchSpec } from '../src/cli/index-search.js';
import { serveSpec } from '../src/cli/serve.js';

/** Every command of src/cli/main.ts (the test checks that the two lists agree). */
export const COMMAND_SPECS: readonly CommandSpec[] = [infoSpec, trainSpec, compareSpec, evalSpec, embedSpec, anomalySpec, exportSpec, fitDetectorSpec, scoreSpec, indexSpec, searchSpec, serveSpec];

/** The repository's docs/schemas, from scripts/ or dist/scripts/. */
export const SCHEMA_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../docs/schemas/' : '../docs/schemas/', import.meta.url));

/** File name → content, exactly as written (2-space JSON and a final newline). */
export function configSchemaFiles(): Map<string, string> {
  return new Map(COMMAND_SPECS.map((spec) => [`${spec.name}.schema.json`, `${JSON.stringify(commandSchema(spec), null, 2)}\n`]));
}

/** Names of the files that are missing, differ, or are left over from a command that is gone. */
export function staleSchemaFiles(dir = SCHEMA_DIR): string[] {
  const files = configSchemaFiles();
  const stale = [...files].filter(([name, text]) => !existsSync(join(dir, name)) || readFileSync(join(dir, name), 'utf8') !== text).map(([name]) => name);
  const extra = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.schema.json') && !files.has(n)) : [];
  return [...stale, ...extra];
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.argv.includes('--check')) {
    const stale = staleSchemaFiles();
    if (stale.length > 0) {
      process.stderr.write(`docs/schemas is out of date (${stale.join(', ')}): run node dist/scripts/config-schemas.js\n`);
      process.exitCode = 1;
    }
  } else {
    mkdirSync(SCHEMA_DIR, { recursive: true });
    for (const [name, text] of configSchemaFiles()) writeFileSync(join(SCHEMA_DIR, name), text);
    process.stdout.write(`Wrote ${configSchemaFiles().size} schemas to ${SCHEMA_DIR}\n`);
  }
}

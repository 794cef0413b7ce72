// Shared helpers for the dependency comparisons in bench/deps/ (see docs/dependencies.md).
//
// The candidate packages are NOT project dependencies: they live in a scratch install outside
// the repository, so the shared node_modules stays untouched. Set it up once:
//
//   mkdir -p /tmp/deps-eval && cd /tmp/deps-eval && npm init -y && \
//     npm install vega vega-lite tar cli-progress write-file-atomic commander yargs
//
// and build the project (`npx tsc -p .`), because the scripts import the compiled code from dist/.
// DEPS_EVAL_DIR overrides the scratch folder; DEEPMETRIC_DIST overrides the dist folder.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const EVAL_DIR = resolve(process.env.DEPS_EVAL_DIR ?? '/tmp/deps-eval');
export const DIST = resolve(process.env.DEEPMETRIC_DIST ?? join(REPO, 'dist'));

/** The module namespace of a package from the scratch install, with a clear error when it is missing. */
export async function scratchImport(name) {
  let file;
  try {
    file = createRequire(join(EVAL_DIR, 'package.json')).resolve(name);
  } catch (error) {
    throw new Error(`Cannot find ${name} in the scratch install ${EVAL_DIR} (see the set-up at the top of bench/deps/common.mjs): ${error.message}`);
  }
  return import(pathToFileURL(file).href);
}

/** The installed version of a scratch package. */
export function scratchVersion(name) {
  return JSON.parse(readFileSync(join(EVAL_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Imports a compiled project module, e.g. projectImport('src/report/roc-chart.js'). */
export async function projectImport(rel) {
  const file = join(DIST, rel);
  if (!existsSync(file)) throw new Error(`Expected the compiled project at ${file}: run \`npx tsc -p .\` first`);
  return import(pathToFileURL(file).href);
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "median (min–max)" in the given unit, for the tables in docs/dependencies.md. */
export function spread(values, digits = 1) {
  const s = [...values].sort((a, b) => a - b);
  return `${median(s).toFixed(digits)} (${s[0].toFixed(digits)}–${s.at(-1).toFixed(digits)})`;
}

/** Seeded uniform [0, 1) generator (mulberry32), so every run draws the same synthetic data. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform generator (Box–Muller). */
export function normal(uniform) {
  return () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p) {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

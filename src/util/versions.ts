// The versions recorded in saved artefacts (detectors, indexes), so a file says what made it.
import { readFileSync } from 'node:fs';
import { torchVersion } from '../tensor/runtime.js';

export interface Versions {
  deepmetric: string;
  libtorch: string;
  node: string;
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export function versions(): Versions {
  return { deepmetric: packageVersion(), libtorch: torchVersion(), node: process.versions.node };
}

// Class labels come from folder names, whose listing order differs between file systems and
// archives; a fixed rule keeps labels stable: CIFAR-10's own order when every name is a CIFAR-10
// class (so labels match the binary release), otherwise natural alphabetical order.

import { CIFAR10_CLASSES } from './cifar10-constants.js';

const collator = new Intl.Collator('en', { numeric: true });

export function compareNames(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function orderClassNames(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  if (unique.every((name) => CIFAR10_CLASSES.includes(name))) {
    return unique.sort((a, b) => CIFAR10_CLASSES.indexOf(a) - CIFAR10_CLASSES.indexOf(b));
  }
  return unique.sort(compareNames);
}

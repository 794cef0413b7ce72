// The anomaly protocol's split by class roles (normal / anomaly / reference), with the wording of
// every mistake a user can make in the roles (the CLI's flags name the roles).
import { anomalySplit, type AnomalySplit, type ClassRef } from '../data/splits.js';
import type { ImageDataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';

/** The classes of each role, by name or index (as text, e.g. from the command line). */
export interface AnomalyRoles {
  normal?: readonly string[];
  /** Default: the classes with test images but no training images. */
  anomaly?: readonly string[];
  /** Default: every class neither normal nor anomaly. */
  reference?: readonly string[];
}

/** A class given as text: a class name when the dataset has it, else an index. */
export function classRef(text: string, classes: readonly string[]): ClassRef {
  return classes.includes(text) || !/^\d+$/.test(text) ? text : Number(text);
}

/** Classes with test images but no training images (one-class layouts such as MVTec AD's test/<defect>/): the anomalies when none are named. */
export function testOnlyClasses(trainSet: ImageDataset): string[] {
  const counts = new Array<number>(trainSet.classes.length).fill(0);
  for (const l of trainSet.labels) counts[l]++;
  return trainSet.classes.filter((_, i) => counts[i] === 0);
}

/** The protocol split; a UsageError for every mistake in the roles. */
export function splitForAnomaly(trainSet: ImageDataset, testSet: ImageDataset, given: AnomalyRoles): AnomalySplit {
  const classes = trainSet.classes;
  const label = (ref: ClassRef): number => (typeof ref === 'number' ? ref : classes.indexOf(ref));
  const refs = (raw: readonly string[] | undefined): ClassRef[] | undefined => raw?.map((t) => classRef(t, classes));
  const roles = { normal: refs(given.normal), anomaly: refs(given.anomaly) ?? testOnlyClasses(trainSet), reference: refs(given.reference) };
  for (const flag of ['normal', 'anomaly', 'reference'] as const) {
    for (const ref of roles[flag] ?? []) {
      const l = label(ref);
      if (!(l >= 0 && l < classes.length)) {
        throw new UsageError(`Expected --${flag} to name classes of the dataset (${classes.join(', ')}) or their indices 0–${classes.length - 1} but received '${ref}'`);
      }
    }
  }
  for (const [a, b] of [['normal', 'anomaly'], ['normal', 'reference'], ['anomaly', 'reference']] as const) {
    const both = (roles[a] ?? []).filter((ra) => (roles[b] ?? []).some((rb) => label(rb) === label(ra)));
    if (both.length > 0) {
      throw new UsageError(`Expected different classes for --${a} and --${b} but received '${classes[label(both[0])]}' in both`);
    }
  }
  try {
    return anomalySplit(trainSet, testSet, { normal: roles.normal!, anomaly: roles.anomaly!, reference: roles.reference });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

// Explicit, countable native memory: tidy scopes, keep, and the live-tensor count.
import { native } from '../binding/native.js';

/** Anything that owns native memory and can be released. */
export interface Disposable {
  dispose(): void;
}

type Scope = Set<Disposable>;
const scopes: Scope[] = [];
const scopeOf = new WeakMap<Disposable, Scope>();

/** Registers a new tensor with the innermost tidy scope, if any. */
export function track(t: Disposable): void {
  const scope = scopes[scopes.length - 1];
  if (scope) {
    scope.add(t);
    scopeOf.set(t, scope);
  }
}

/** Removes t from the scope that would dispose it: it then lives until disposed explicitly. */
export function keep<T extends Disposable>(t: T): T {
  scopeOf.get(t)?.delete(t);
  scopeOf.delete(t);
  return t;
}

/** Disposes a tensor, or every tensor in an array or object (nested). Safe to call twice. */
export function dispose(value: unknown): void {
  for (const t of collect(value)) t.dispose();
}

function isDisposable(v: unknown): v is Disposable {
  return typeof v === 'object' && v !== null && typeof (v as Disposable).dispose === 'function' && '__tensor' in v;
}

function collect(value: unknown, out: Set<Disposable> = new Set(), depth = 0): Set<Disposable> {
  if (depth > 8 || value === null || typeof value !== 'object') return out;
  if (isDisposable(value)) {
    out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
  return out;
}

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (in a value,
 * array or plain object) and those passed to keep(). Returned tensors move to the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = new Set();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('Expected a synchronous function for tidy but received an async one: tensors cannot be tracked across await');
  }
  const returned = collect(result);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!returned.has(t)) {
      t.dispose();
    } else if (outer) {
      outer.add(t);
      scopeOf.set(t, outer);
    } else {
      scopeOf.delete(t);
    }
  }
  return result;
}

/** Number of native tensor handles alive (created and neither disposed nor collected). */
export function liveTensors(): number {
  return native.liveCount();
}

// Explicit, countable native memory: tidy scopes, keep, and the live-tensor count.
import { native, type NativeHandle } from '../binding/native.js';

/** Anything that owns native memory and can be released. */
export interface Disposable {
  dispose(): void;
}

/** What a scope needs from the tensors it owns (Tensor implements it). */
export interface Scoped extends Disposable {
  /** The scope that will dispose it; null once kept, returned past every scope, or disposed by one. */
  __scope: Scope | null;
  /** Told once it belongs to no scope any more (it then arms its GC safety net). */
  __unscoped(): void;
  /** Marks it disposed and hands over its handle for the scope to free; null if already disposed. */
  __release(): NativeHandle | null;
  readonly isDisposed: boolean;
}

/**
 * One tidy() call. Its tensors are an array (a push per tensor, no hashing), and each tensor
 * points back at its scope, so keep() and moving a result outwards are field writes.
 */
export class Scope {
  readonly items: Scoped[] = [];
  /** Length at which items is next swept of tensors already disposed or kept (see track). */
  sweepAt = 1024;
  constructor(readonly parent: Scope | null) {}
}

let current: Scope | null = null;

/** Registers a new tensor with the innermost tidy scope, or arms its safety net if none. */
export function track(t: Scoped): void {
  const scope = current;
  if (scope === null) {
    t.__unscoped();
    return;
  }
  t.__scope = scope;
  scope.items.push(t);
  if (scope.items.length >= scope.sweepAt) sweep(scope);
}

// A loop that disposes its tensors as it goes inside one long tidy must not grow the scope
// without bound: drop what the scope no longer owns; the next sweep waits for twice the rest.
function sweep(scope: Scope): void {
  const owned = scope.items.filter((t) => t.__scope === scope && !t.isDisposed);
  scope.items.length = 0;
  for (const t of owned) scope.items.push(t);
  scope.sweepAt = Math.max(1024, 2 * owned.length);
}

function isScoped(v: unknown): v is Scoped {
  return typeof v === 'object' && v !== null && typeof (v as Scoped).__release === 'function';
}

/** Removes t from the scope that would dispose it: it then lives until disposed explicitly. */
export function keep<T extends Disposable>(t: T): T {
  if (isScoped(t) && t.__scope !== null) {
    t.__scope = null;
    t.__unscoped();
  }
  return t;
}

/** Disposes a tensor, or every tensor in an array or object (nested). Safe to call twice. */
export function dispose(value: unknown): void {
  if (isDisposable(value)) {
    value.dispose();
    return;
  }
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
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
  return out;
}

// Handles a scope frees at its end, passed to native code in one call.
let toFree = new Int32Array(1024);

/** Disposes what scope still owns, except the tensors in result, which move to the outer scope. */
function close(scope: Scope, result: unknown): void {
  const items = scope.items;
  if (items.length === 0) return;
  // A bare tensor (or nothing) is the common result: no Set for it.
  const single = isDisposable(result) ? result : null;
  const returned = single === null && typeof result === 'object' && result !== null ? collect(result) : null;
  const outer = scope.parent;
  let n = 0;
  for (let i = 0; i < items.length; i++) {
    const t = items[i];
    if (t.__scope !== scope) continue; // kept, or already moved
    if (t === single || returned?.has(t)) {
      t.__scope = outer;
      if (outer === null) t.__unscoped();
      else outer.items.push(t);
      continue;
    }
    t.__scope = null;
    const handle = t.__release();
    if (handle === null) continue;
    if (n === toFree.length) {
      const grown = new Int32Array(2 * n);
      grown.set(toFree);
      toFree = grown;
    }
    toFree[n++] = handle as unknown as number;
  }
  items.length = 0;
  if (n > 0) native.freeMany(toFree, n);
}

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (in a value,
 * array or plain object) and those passed to keep(). Returned tensors move to the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope(current);
  current = scope;
  let result: T;
  try {
    result = fn();
  } catch (err) {
    current = scope.parent;
    close(scope, undefined);
    throw err;
  }
  current = scope.parent;
  if (result instanceof Promise) {
    close(scope, undefined);
    throw new TypeError('Expected a synchronous function for tidy but received an async one: tensors cannot be tracked across await');
  }
  close(scope, result);
  return result;
}

/** Number of native tensor handles alive (created and neither disposed nor collected). */
export function liveTensors(): number {
  return native.liveCount();
}

// Module: named parameters, buffers and children with PyTorch's dotted state-dict names.
import type { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { type Device, checkDevice } from '../tensor/device.js';

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  /** Training mode (batch statistics, dropout) versus evaluation mode. */
  training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable tensor (made a leaf that requires grad, and kept alive). */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    const p = keep(t.isLeaf ? t : t.detach());
    if (p !== t) t.dispose();
    p.requiresGrad_(true);
    this.#parameters.set(name, p);
    return p;
  }

  /** Registers state that is saved but not trained (e.g. BatchNorm running statistics). */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    this.#buffers.set(name, keep(t));
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#checkName(name);
    this.#children.set(name, m);
    return m;
  }

  #checkName(name: string): void {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new TypeError(`Expected a name of letters, digits and _ but received ${JSON.stringify(name)}`);
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TypeError(`Expected a new name but ${JSON.stringify(name)} is already registered in ${this.constructor.name}`);
    }
  }

  /** Swaps a registered child for another; the caller updates any field that refers to it. */
  protected replaceModule(name: string, m: Module): void {
    if (!this.#children.has(name)) throw new TypeError(`Expected a registered child named ${JSON.stringify(name)} in ${this.constructor.name}`);
    this.#children.set(name, m);
  }

  children(): [string, Module][] {
    return [...this.#children];
  }

  /** Every module in the tree with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    return this.namedModules().flatMap(([path, m]) => [...m.#parameters].map(([n, t]) => [path ? `${path}.${n}` : n, t] as [string, Tensor]));
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([path, m]) => [...m.#buffers].map(([n, t]) => [path ? `${path}.${n}` : n, t] as [string, Tensor]));
  }

  /** Parameters and buffers by dotted name. The tensors are the module's own: do not dispose them. */
  stateDict(): StateDict {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module's tensors. With strict (the default) the names and shapes must
   * match exactly; the error lists every missing, unexpected and mismatched key.
   */
  loadStateDict(state: StateDict, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    // Own keys only: a tensor named 'constructor' or '__proto__' must not match Object.prototype.
    const missing = Object.keys(own).filter((k) => !Object.hasOwn(state, k));
    const unexpected = Object.keys(state).filter((k) => !Object.hasOwn(own, k));
    const mismatched = Object.keys(own)
      .filter((k) => Object.hasOwn(state, k) && state[k].shape.join(',') !== own[k].shape.join(','))
      .map((k) => `${k} (expected [${own[k].shape.join(',')}], received [${state[k].shape.join(',')}])`);
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const parts = [
        missing.length ? `missing keys: ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : '',
        mismatched.length ? `shape mismatches: ${mismatched.join(', ')}` : '',
      ].filter(Boolean);
      throw new Error(`loadStateDict: the state does not fit ${this.constructor.name}: ${parts.join('; ')}`);
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (k in state) t.copy_(state[k]);
    });
    return { missing, unexpected };
  }

  /** Sets training mode on this module and every child. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Moves every parameter and buffer to device, in place (create optimizers afterwards). */
  to(device: Device): this {
    const d = checkDevice(device);
    noGrad(() => {
      for (const [, p] of this.namedParameters()) {
        if (p.device === (d === 'cuda' ? 'cuda:0' : d)) continue;
        p.replaceWith_(p.to(d)).requiresGrad_(true);
      }
      for (const [, b] of this.namedBuffers()) b.replaceWith_(b.to(d));
    });
    return this;
  }

  /**
   * Stores every 4-d parameter (conv kernels) channels-last, matching channels-last inputs so
   * libtorch's kernels need no per-step layout conversion. Call before creating the optimizer.
   */
  toChannelsLast(): this {
    noGrad(() => {
      for (const [, p] of this.namedParameters()) {
        if (p.ndim === 4 && !p.hasCanonicalChannelsLastStrides()) p.replaceWith_(p.toChannelsLast()).requiresGrad_(true);
      }
    });
    return this;
  }

  /** Number of parameter elements; with buffers, counts running statistics as Keras does. */
  countParameters(opts: { trainableOnly?: boolean; includeBuffers?: boolean } = {}): number {
    const tensors = opts.includeBuffers ? [...this.namedParameters(), ...this.namedBuffers()] : this.namedParameters();
    return tensors.reduce((n, [, t]) => n + t.size, 0);
  }

  /** A printable table of parameters and buffers with their shapes, and totals. */
  summary(): string {
    const rows = [...this.namedParameters().map(([n, t]) => [n, t.shape, 'param'] as const),
      ...this.namedBuffers().map(([n, t]) => [n, t.shape, 'buffer'] as const)];
    const width = Math.max(4, ...rows.map(([n]) => n.length));
    const lines = [`${this.constructor.name}`, `${'name'.padEnd(width)}  ${'kind'.padEnd(6)}  shape`];
    for (const [n, shape, kind] of rows) lines.push(`${n.padEnd(width)}  ${kind.padEnd(6)}  [${shape.join(', ')}]`);
    lines.push(`parameters: ${this.countParameters().toLocaleString('en-US')}` +
      `; with buffers: ${this.countParameters({ includeBuffers: true }).toLocaleString('en-US')}`);
    return lines.join('\n');
  }

  /** Frees every parameter and buffer. The module is unusable afterwards. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }
}

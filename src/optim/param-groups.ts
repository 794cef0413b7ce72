// Parameter groups with their own learning-rate multipliers (e.g. a pretrained backbone at 0.1× the
// head's rate). The native binding drives one libtorch optimizer per parameter list, so each group
// gets its own; Adam, AdamW and SGD update every parameter independently, so this equals one
// optimizer with torch-style param_groups. Group 0 is the base class's native optimizer.
import { Optimizer, type OptimizerKind } from './optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNumber } from '../tensor/checks.js';

export interface ParamGroup {
  params: Tensor[];
  /** This group's learning rate = lr × lrMult (default 1). */
  lrMult?: number;
}

/** The optimizer settings createOptimizer takes (train/trainer.ts's OptimizerConfig). */
export interface GroupOptimizerConfig {
  name: OptimizerKind;
  lr: number;
  amsgrad?: boolean;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
}

/** The native options of each kind, with the defaults of Adam, AdamW and SGD in ./optimizer.ts. */
function nativeOptions(c: GroupOptimizerConfig, lr: number): Record<string, number | boolean> {
  switch (c.name) {
    case 'adam':
    case 'adamw':
      return { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay ?? (c.name === 'adamw' ? 1e-2 : 0), amsgrad: c.amsgrad ?? false };
    case 'sgd':
      return { lr, momentum: c.momentum ?? 0, dampening: 0, weightDecay: c.weightDecay ?? 0, nesterov: c.nesterov ?? false };
    default:
      throw new TypeError(`Expected an optimizer among adam, adamw, sgd but received ${JSON.stringify((c as GroupOptimizerConfig).name)}`);
  }
}

/** One group's own native optimizer (the base constructor is protected). */
class GroupOptimizer extends Optimizer {
  constructor(kind: OptimizerKind, params: Tensor[], options: Record<string, number | boolean>) {
    super(kind, params, options);
  }
}

const STATE_MAGIC = Buffer.from('DMPG');

export class ParamGroupsOptimizer extends Optimizer {
  readonly #mults: number[];
  readonly #others: Optimizer[];
  #lr: number;

  constructor(config: GroupOptimizerConfig, groups: ParamGroup[]) {
    const live = groups.filter((g) => g.params.length > 0);
    if (live.length === 0) throw new TypeError('Expected at least one parameter group with parameters but received none');
    const mults = live.map((g, i) => {
      const m = g.lrMult ?? 1;
      checkNumber(m, `lrMult of parameter group ${i}`);
      if (!(m >= 0) || !Number.isFinite(m)) throw new TypeError(`Expected a finite lrMult ≥ 0 for parameter group ${i} but received ${m}`);
      return m;
    });
    super(config.name, live[0].params, nativeOptions(config, config.lr * mults[0]));
    this.#mults = mults;
    this.#lr = config.lr;
    this.#others = live.slice(1).map((g, i) => new GroupOptimizer(config.name, g.params, nativeOptions(config, config.lr * mults[i + 1])));
  }

  override step(): void {
    super.step();
    for (const o of this.#others) o.step();
  }

  override zeroGrad(): void {
    super.zeroGrad();
    for (const o of this.#others) o.zeroGrad();
  }

  /** The base learning rate; each group runs at lr × its multiplier. */
  override get lr(): number { return this.#lr; }
  override set lr(value: number) {
    super.lr = value * this.#mults[0];
    this.#others.forEach((o, i) => { o.lr = value * this.#mults[i + 1]; });
    this.#lr = value;
  }

  /** Every group's state: 'DMPG', the count, then each length-prefixed state. */
  override stateDict(): Buffer {
    const parts = [super.stateDict(), ...this.#others.map((o) => o.stateDict())];
    const head = Buffer.alloc(8);
    STATE_MAGIC.copy(head, 0);
    head.writeUInt32LE(parts.length, 4);
    return Buffer.concat([head, ...parts.flatMap((p) => { const n = Buffer.alloc(4); n.writeUInt32LE(p.length); return [n, p]; })]);
  }

  override loadStateDict(state: Buffer): void {
    if (!Buffer.isBuffer(state) || state.length < 8 || !state.subarray(0, 4).equals(STATE_MAGIC)) {
      throw new Error('ParamGroupsOptimizer: Expected the state of an optimizer with parameter groups (from a run with --backbone-lr-mult) but received another');
    }
    const count = state.readUInt32LE(4);
    if (count !== this.#others.length + 1) throw new Error(`ParamGroupsOptimizer: Expected state for ${this.#others.length + 1} parameter groups but received ${count}`);
    let at = 8;
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const n = state.readUInt32LE(at);
      parts.push(state.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    super.loadStateDict(parts[0]);
    this.#others.forEach((o, i) => o.loadStateDict(parts[i + 1]));
    this.lr = this.#lr;
  }

  override dispose(): void {
    super.dispose();
    for (const o of this.#others) o.dispose();
  }
}

// libtorch's own optimizers (Adam with AMSGrad, AdamW, SGD) driven from TS.
import { native, type NativeOptimizer } from '../binding/native.js';
import { Tensor } from '../tensor/tensor.js';
import { checkNumber, describe } from '../tensor/checks.js';
import { decodeOptimizerState, encodeOptimizerState } from './optimizer-state.js';

export type OptimizerKind = 'adam' | 'adamw' | 'sgd';

function checkParams(params: Tensor[]): void {
  if (!Array.isArray(params) || params.length === 0) throw new TypeError(`Expected a non-empty array of parameters but received ${describe(params)}`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`Expected a Tensor for parameter ${i} but received ${describe(p)}`);
    if (!p.requiresGrad || !p.isLeaf) throw new TypeError(`Expected parameter ${i} to be a leaf tensor with requiresGrad but received one without`);
  });
}

function checkLr(lr: unknown): number {
  checkNumber(lr, 'lr');
  if (!((lr as number) >= 0) || !Number.isFinite(lr)) throw new TypeError(`Expected a finite lr ≥ 0 but received ${describe(lr)}`);
  return lr as number;
}

/** Base of the optimizers: the native state lives in libtorch; parameters are updated in place. */
export class Optimizer {
  #handle: NativeOptimizer | null;
  readonly kind: OptimizerKind;

  protected constructor(kind: OptimizerKind, params: Tensor[], options: Record<string, number | boolean>) {
    checkParams(params);
    checkLr(options.lr);
    this.kind = kind;
    this.#handle = native.createOptimizer(kind, params.map((p) => p.handle), options);
  }

  private get handle(): NativeOptimizer {
    if (this.#handle === null) throw new Error('Optimizer is disposed');
    return this.#handle;
  }

  /** Applies one update from the parameters' current gradients. */
  step(): void { native.optimizerStep(this.handle); }
  /** Drops every parameter's gradient (set to none, as torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void { native.optimizerZeroGrad(this.handle); }
  get lr(): number { return native.optimizerGetLr(this.handle); }
  set lr(value: number) { native.optimizerSetLr(this.handle, checkLr(value)); }
  /** Serialized optimizer state (moments, step counts) for checkpoints: see optimizer-state.ts. */
  stateDict(): Buffer { return encodeOptimizerState(this.kind, native.optimizerStateTensors(this.handle)); }
  /** Restores a stateDict(); every tensor is checked against the parameters before anything changes. */
  loadStateDict(state: Buffer): void {
    if (!Buffer.isBuffer(state)) throw new TypeError(`Expected a Buffer for optimizer state but received ${describe(state)}`);
    const { entries, dispose } = decodeOptimizerState(this.kind, state);
    try {
      native.optimizerLoadStateTensors(this.handle, entries);
    } finally {
      dispose();
    }
  }
  dispose(): void {
    if (this.#handle !== null) native.optimizerFree(this.#handle);
    this.#handle = null;
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** Adam (Kingma & Ba 2015); amsgrad = true is the seed's setting (Reddi et al. 2018). */
export class Adam extends Optimizer {
  constructor(params: Tensor[], o: AdamOptions = {}) {
    super('adam', params, { lr: o.lr ?? 1e-3, beta1: o.betas?.[0] ?? 0.9, beta2: o.betas?.[1] ?? 0.999, eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? 0, amsgrad: o.amsgrad ?? false });
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter 2019). */
export class AdamW extends Optimizer {
  constructor(params: Tensor[], o: AdamOptions = {}) {
    super('adamw', params, { lr: o.lr ?? 1e-3, beta1: o.betas?.[0] ?? 0.9, beta2: o.betas?.[1] ?? 0.999, eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? 1e-2, amsgrad: o.amsgrad ?? false });
  }
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  constructor(params: Tensor[], o: SGDOptions = {}) {
    if (o.nesterov && !((o.momentum ?? 0) > 0 && (o.dampening ?? 0) === 0)) {
      throw new TypeError('Expected momentum > 0 and dampening 0 for nesterov SGD but received otherwise');
    }
    super('sgd', params, { lr: o.lr ?? 1e-2, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0,
      weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false });
  }
}

// MultipleLosses: a weighted sum of losses on the same embeddings and labels, as one Head
// (pytorch-metric-learning's MultipleLosses). An optional classification head supplies the logits;
// its state keeps its own names (so a softmax checkpoint loads into softmax plus extra losses), and
// each further loss is saved under its name, e.g. 'center.centers'.
//   loss = w_head·head.loss + Σ_k w_k·losses[k].loss
// When every member has per-sample terms, lossTerms() is their weighted sum and loss() its mean.
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkNonNegative, describe } from '../tensor/checks.js';
import { Head } from './head.js';

/** Anything that computes a loss from embeddings and labels: a Head, a CenterLoss… */
export interface LossModule extends Module {
  loss(embeddings: Tensor, labels: Tensor): Tensor;
  /** Per-sample terms [N], when the loss is their mean. */
  lossTerms?(embeddings: Tensor, labels: Tensor): Tensor;
}

export interface MultipleLossesConfig {
  embeddingDim: number;
  numClasses?: number;
  /** The head whose logits this one returns (optional); its state keeps its own names. */
  head?: Head;
  /** Further losses by name (letters, digits, _); their state is saved under that name. */
  losses: Record<string, LossModule>;
  /** Weights by loss name, 'head' for the head; 1 when absent. */
  weights?: Record<string, number>;
}

const HEAD_KEY = 'head';

export class MultipleLosses extends Head {
  readonly name: string = 'multiple-losses';
  readonly classifies: boolean;
  /** The head supplying logits, if any. */
  readonly head: Head | undefined;
  /** The further losses, by name. */
  readonly losses: Readonly<Record<string, LossModule>>;
  /** The weight of each term: 'head' and every loss name. */
  readonly weights: Readonly<Record<string, number>>;

  constructor(cfg: MultipleLossesConfig) {
    super({ embeddingDim: cfg?.embeddingDim, numClasses: cfg?.numClasses ?? (cfg?.head?.hasNumClasses ? cfg.head.numClasses : undefined) }, false);
    if (cfg.head !== undefined && !(cfg.head instanceof Head)) throw new TypeError(`Expected a Head for head but received ${describe(cfg.head)}`);
    if (typeof cfg.losses !== 'object' || cfg.losses === null) throw new TypeError(`Expected an object of losses by name but received ${describe(cfg.losses)}`);
    const names = Object.keys(cfg.losses);
    if (names.length === 0 && cfg.head === undefined) throw new RangeError('Expected a head or at least one loss but received neither');
    const headState = new Set(Object.keys(cfg.head?.stateDict() ?? {}).map((k) => k.split('.')[0]));
    for (const name of names) {
      const loss = cfg.losses[name];
      if (!(loss instanceof Module) || typeof loss.loss !== 'function') throw new TypeError(`Expected a loss module (a Module with loss()) for losses.${name} but received ${describe(loss)}`);
      if (name === HEAD_KEY || headState.has(name)) throw new RangeError(`Expected a loss name other than '${name}': the head already uses it`);
      this.registerModule(name, loss);
    }
    const weights: Record<string, number> = {};
    for (const key of Object.keys(cfg.weights ?? {})) {
      if (key !== HEAD_KEY && !names.includes(key)) throw new RangeError(`Expected weights for ${[...(cfg.head ? [HEAD_KEY] : []), ...names].join(', ')} but received '${key}'`);
    }
    for (const key of [...(cfg.head ? [HEAD_KEY] : []), ...names]) weights[key] = checkNonNegative(cfg.weights?.[key] ?? 1, `weights.${key}`);
    this.head = cfg.head;
    this.losses = Object.freeze({ ...cfg.losses });
    this.weights = Object.freeze(weights);
    this.classifies = cfg.head?.classifies ?? false;
  }

  /** This module, the head's modules at the same path (its state keeps its names), then the losses. */
  override namedModules(prefix = ''): [string, Module][] {
    const [self, ...losses] = super.namedModules(prefix);
    return this.head === undefined ? [self, ...losses] : [self, ...this.head.namedModules(prefix), ...losses];
  }

  /** Weighted per-sample terms [N]; every member must have lossTerms. */
  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    const members = this.#members();
    const missing = members.filter(([, m]) => typeof m.lossTerms !== 'function').map(([k]) => k);
    if (missing.length > 0) throw new TypeError(`${this.name}.lossTerms: Expected every loss to have per-sample terms but ${missing.join(', ')} has none`);
    return tidy(() => members.map(([key, m]) => this.#weighted(m.lossTerms!(embeddings, labels), key)).reduce((sum, t) => sum.add(t)));
  }

  /** The weighted sum of the losses (the mean of lossTerms when every member has them). */
  loss(embeddings: Tensor, labels: Tensor): Tensor {
    const members = this.#members();
    if (members.every(([, m]) => typeof m.lossTerms === 'function')) return tidy(() => this.lossTerms(embeddings, labels).mean());
    return tidy(() => members.map(([key, m]) => this.#weighted(m.loss(embeddings, labels), key)).reduce((sum, t) => sum.add(t)));
  }

  override logits(embeddings: Tensor): Tensor {
    return this.head === undefined ? super.logits(embeddings) : this.head.logits(embeddings);
  }

  #members(): [string, LossModule][] {
    return [...(this.head ? [[HEAD_KEY, this.head] as [string, LossModule]] : []), ...Object.entries(this.losses)];
  }

  #weighted(t: Tensor, key: string): Tensor {
    return this.weights[key] === 1 ? t : t.mul(this.weights[key]);
  }

  protected options(): Record<string, unknown> {
    return {
      ...(this.head ? { head: this.head.config() } : {}),
      losses: Object.fromEntries(Object.entries(this.losses).map(([k, m]) => [k, m instanceof Head ? m.config() : m.constructor.name])),
      weights: { ...this.weights },
    };
  }
}

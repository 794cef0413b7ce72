// The interface every anomaly scorer implements, and the fitted-state bookkeeping they share.
import { Tensor } from '../../tensor/tensor.js';
import { keep, dispose } from '../../tensor/memory.js';
import { type NumericInput, checkEmbeddings } from '../inputs.js';

/**
 * Fitted on normal training embeddings only; scores new embeddings so that higher = more
 * anomalous. Scorers own copies of what they keep: the caller may dispose the training tensor.
 */
export interface AnomalyScorer {
  readonly name: string;
  /** The options, defaults filled in, that make createScorer(name, options) rebuild this scorer (JSON-able). */
  readonly options: Record<string, unknown>;
  /** Learns from normal embeddings [N,D] (and, for scorers that use them, their class labels). */
  fit(train: Tensor, labels?: NumericInput): void;
  /** [M] anomaly scores of x [M,D]; higher = more anomalous. */
  score(x: Tensor): Tensor;
  /** The fitted tensors by name, for saving; the scorer keeps ownership. Throws before fit. */
  fittedState(): Record<string, Tensor>;
  /** Restores tensors saved from fittedState() (copied; the caller keeps its own). */
  loadFittedState(state: Record<string, Tensor>): void;
  /** Frees the fitted state. Safe to call twice; fit may be called again afterwards. */
  dispose(): void;
}

/** Holds a scorer's fitted tensors outside any tidy scope, and checks score() inputs. */
export class FittedState<S extends Record<string, Tensor>> {
  #state: S | null = null;
  #width = 0;

  constructor(private readonly scorer: string) {}

  set(state: S, width: number): void {
    this.clear();
    for (const t of Object.values(state)) keep(t);
    this.#state = state;
    this.#width = width;
  }

  /** The fitted tensors, after checking x [M,D] has the training width. */
  get(x: Tensor): S {
    if (this.#state === null) throw new Error(`${this.scorer} scorer: call fit(train) before score(x)`);
    checkEmbeddings(x, `x of the ${this.scorer} scorer`);
    if (x.shape[1] !== this.#width) {
      throw new TypeError(`${this.scorer} scorer: Expected embeddings with ${this.#width} features (as in fit) but received shape [${x.shape.join(',')}]`);
    }
    return this.#state;
  }

  /** The fitted tensors (for saving). */
  tensors(): S {
    if (this.#state === null) throw new Error(`${this.scorer} scorer: call fit(train) before saving its state`);
    return this.#state;
  }

  /**
   * Restores saved tensors: exactly the given keys, copied; the feature width is read from the
   * last dimension of widthKey.
   */
  load(state: Record<string, Tensor>, keys: readonly (keyof S & string)[], widthKey: keyof S & string): void {
    const names = Object.keys(state).sort();
    if (names.join(',') !== [...keys].sort().join(',')) {
      throw new TypeError(`${this.scorer} scorer: Expected fitted state with tensors ${[...keys].sort().join(', ')} but received ${names.join(', ') || 'none'}`);
    }
    for (const k of keys) if (!(state[k] instanceof Tensor)) throw new TypeError(`${this.scorer} scorer: Expected a Tensor for fitted state '${k}'`);
    const copies = Object.fromEntries(keys.map((k) => [k, state[k].clone()])) as S;
    const w = copies[widthKey];
    this.set(copies, w.shape[w.ndim - 1]);
  }

  clear(): void {
    if (this.#state !== null) dispose(Object.values(this.#state));
    this.#state = null;
  }
}

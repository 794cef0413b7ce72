// Head: what sits on top of the embedding network during training — a loss over embeddings and
// labels, plus class logits at inference for the heads that classify.
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkInt } from '../tensor/checks.js';
import { checkEmbeddings } from '../tensor/tensor-checks.js';

export interface HeadConfig {
  embeddingDim: number;
  numClasses: number;
}

/** What every head is built from; numClasses is optional for the heads that do not classify (pair losses). */
export interface BaseHeadConfig {
  embeddingDim: number;
  numClasses?: number;
}

export abstract class Head extends Module {
  /** Registry name, e.g. 'arcface'; createHead(name, config()) rebuilds the head. */
  abstract readonly name: string;
  /** True when the head has class logits at inference. */
  abstract readonly classifies: boolean;
  readonly embeddingDim: number;
  readonly #numClasses: number | undefined;

  /** needsClasses: numClasses is required (heads with class weights) rather than optional. */
  constructor(cfg: BaseHeadConfig, needsClasses = true) {
    super();
    if (typeof cfg !== 'object' || cfg === null) throw new TypeError(`Expected a config object with embeddingDim and numClasses but received ${String(cfg)}`);
    this.embeddingDim = checkInt(cfg.embeddingDim, 'embeddingDim', 1);
    this.#numClasses = needsClasses || cfg.numClasses !== undefined ? checkInt(cfg.numClasses, 'numClasses', 2) : undefined;
  }

  /** The number of classes; throws for a pair loss built without it. */
  get numClasses(): number {
    if (this.#numClasses === undefined) {
      throw new Error(`Head '${this.name}' was built without numClasses: pass numClasses in its config where the class count is needed`);
    }
    return this.#numClasses;
  }

  /** Whether numClasses was given (always, for the heads that classify). */
  get hasNumClasses(): boolean {
    return this.#numClasses !== undefined;
  }

  /** Training loss (a scalar tensor) for embeddings [N,D] and int64 labels [N]. */
  abstract loss(embeddings: Tensor, labels: Tensor): Tensor;

  /** Inference logits [N,C] (no margin), for heads that classify; throws otherwise. */
  logits(embeddings: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.logits`);
    throw new Error(`Head '${this.name}' does not classify: it has no class logits. ` +
      'Classify its embeddings by nearest neighbours or class centroids instead');
  }

  /** The argmax of the logits: int64 [N]. */
  predict(embeddings: Tensor): Tensor {
    return tidy(() => this.logits(embeddings).argmax(1));
  }

  /** The inference logits, so a head can sit in a Sequential after the embedding network. */
  forward(embeddings: Tensor): Tensor {
    return this.logits(embeddings);
  }

  /** JSON-able settings, enough to rebuild the head with createHead(config.name, config). */
  config(): Record<string, unknown> {
    const classes = this.#numClasses === undefined ? {} : { numClasses: this.#numClasses };
    return { name: this.name, embeddingDim: this.embeddingDim, ...classes, ...this.options() };
  }

  /** The head's own options (beyond embeddingDim and numClasses), resolved to their values. */
  protected abstract options(): Record<string, unknown>;
}

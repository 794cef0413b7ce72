// Scores from a classifying head's softmax, no fitting needed: the maximum-softmax-probability
// baseline (Hendrycks & Gimpel 2017, arXiv:1610.02136) — a classifier is less sure of images unlike
// its training classes — and the probability mass off the normal classes. As scorers they take the
// head when created (createScorer('msp', {}, { head })); fit() only checks the embedding width.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { checkInt } from '../../tensor/checks.js';
import type { Head } from '../../losses/head.js';
import { type NumericInput, checkEmbeddings, checkOptionKeys } from '../inputs.js';
import type { AnomalyScorer } from './scorer.js';

/** What a scorer may need besides embeddings: the head whose logits the posterior scores read. */
export interface ScorerContext {
  head?: Head;
}

function checkClassifies(head: Head, score: string): void {
  if (!head.classifies) {
    throw new TypeError(`Expected a head with class logits for the ${score} score but received '${head.name}', which does not classify`);
  }
}

/** 1 − max_c softmax(logits)_c per row of embeddings [N,D]: higher = more anomalous. */
export function maxSoftmaxScore(head: Head, embeddings: Tensor): Tensor {
  checkClassifies(head, 'msp');
  return noGrad(() => tidy(() => head.logits(embeddings).softmax(1).max(1).neg().add(1)));
}

/**
 * 1 − Σ_{c normal} softmax(logits)_c: the probability the head gives to the image being one of the
 * reference classes rather than a normal one. An anomaly resembling the normal class only in part
 * (a dog for a cat model) takes some of its mass to reference classes. Normal classes are the
 * labels below normalClassCount, as the anomaly split orders them.
 */
export function normalPosteriorScore(head: Head, embeddings: Tensor, normalClassCount: number): Tensor {
  checkClassifies(head, 'normal-prob');
  if (!(Number.isInteger(normalClassCount) && normalClassCount >= 1 && normalClassCount < head.numClasses)) {
    throw new TypeError(`Expected a normal class count between 1 and ${head.numClasses - 1} but received ${normalClassCount}`);
  }
  return noGrad(() => tidy(() => head.logits(embeddings).softmax(1).narrow(1, 0, normalClassCount).sum(1).neg().add(1)));
}

/** The shared part: the head given at creation, checked there, and the embedding width seen in fit. */
export abstract class PosteriorScorer implements AnomalyScorer {
  abstract readonly name: string;
  abstract readonly options: Record<string, unknown>;
  readonly #head: Head | undefined;
  #width = 0;

  constructor(name: string, context: ScorerContext) {
    if (context.head !== undefined) checkClassifies(context.head, name);
    this.#head = context.head;
  }

  protected head(): Head {
    if (this.#head === undefined) {
      throw new Error(`${this.name} scorer: needs the head's class logits; create it with createScorer('${this.name}', options, { head })`);
    }
    return this.#head;
  }

  fit(train: Tensor, _labels?: NumericInput): void {
    checkEmbeddings(train, `train of the ${this.name} scorer`);
    this.head();
    this.#width = train.shape[1];
  }

  protected check(x: Tensor): Head {
    if (this.#width === 0) throw new Error(`${this.name} scorer: call fit(train) before score(x)`);
    checkEmbeddings(x, `x of the ${this.name} scorer`);
    if (x.shape[1] !== this.#width) {
      throw new TypeError(`${this.name} scorer: Expected embeddings with ${this.#width} features (as in fit) but received shape [${x.shape.join(',')}]`);
    }
    return this.head();
  }

  abstract score(x: Tensor): Tensor;

  /** Nothing is fitted: the head's weights are the state, and they are saved with the head. */
  fittedState(): Record<string, Tensor> {
    return {};
  }

  loadFittedState(state: Record<string, Tensor>): void {
    if (Object.keys(state).length > 0) throw new TypeError(`${this.name} scorer: Expected no fitted state but received ${Object.keys(state).join(', ')}`);
    this.#width = this.head().embeddingDim;
  }

  dispose(): void {
    this.#width = 0;
  }
}

export class MspScorer extends PosteriorScorer {
  readonly name = 'msp';
  readonly options: Record<string, unknown> = {};

  constructor(opts: Record<string, never> = {}, context: ScorerContext = {}) {
    checkOptionKeys(opts, [], 'the msp scorer');
    super('msp', context);
  }

  score(x: Tensor): Tensor {
    return maxSoftmaxScore(this.check(x), x);
  }
}

export interface NormalProbScorerOptions {
  /** The normal classes are the head's labels 0 … normalClassCount − 1 (as the anomaly split orders them). Default 1. */
  normalClassCount?: number;
}

export class NormalProbScorer extends PosteriorScorer {
  readonly name = 'normal-prob';
  readonly normalClassCount: number;

  constructor(opts: NormalProbScorerOptions = {}, context: ScorerContext = {}) {
    checkOptionKeys(opts, ['normalClassCount'], 'the normal-prob scorer');
    super('normal-prob', context);
    const max = context.head ? context.head.numClasses - 1 : undefined;
    this.normalClassCount = checkInt(opts.normalClassCount ?? 1, `normalClassCount of the normal-prob scorer${max ? ` (fewer than the head's ${max + 1} classes)` : ''}`, 1, max);
  }

  get options(): Record<string, unknown> {
    return { normalClassCount: this.normalClassCount };
  }

  score(x: Tensor): Tensor {
    return normalPosteriorScore(this.check(x), x, this.normalClassCount);
  }
}

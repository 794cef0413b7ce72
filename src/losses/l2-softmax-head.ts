// L2SoftmaxHead — Ranjan, Castillo & Chellappa 2017, "L2-constrained Softmax Loss for
// Discriminative Face Verification", arXiv:1703.09507.
// Each embedding is scaled to norm α (L2 normalisation per sample, dim 1 — never over the batch,
// which would couple every sample's logits to the rest of its batch), then a linear layer with
// bias and cross-entropy.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { scalar } from '../tensor/creation.js';
import { Linear } from '../nn/linear.js';
import { crossEntropy, normalize } from '../nn/functional.js';
import { checkBetween, checkBoolean, checkInt, checkPositive } from '../tensor/checks.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';
import { ClassificationHead } from './classification-head.js';
import type { HeadConfig } from './head.js';

export interface L2SoftmaxHeadConfig extends HeadConfig {
  /** Feature norm α after normalisation (default 15). */
  alpha?: number;
  /** Learn α as a parameter named 'alpha' (initialised to alpha); default false. */
  learnableAlpha?: boolean;
}

/**
 * The paper's lower bound on α (its eq. 4): with C classes, a sample can reach softmax probability p
 * for its class only if α ≥ log(p·(C−2)/(1−p)). α_low(10, 0.9) = log 72 ≈ 4.28.
 */
export function l2SoftmaxAlphaLow(numClasses: number, p: number): number {
  checkInt(numClasses, 'numClasses of l2SoftmaxAlphaLow', 2);
  checkBetween(p, 'p of l2SoftmaxAlphaLow', 0, 1);
  return Math.log((p * (numClasses - 2)) / (1 - p));
}

const warned = new Set<string>();

export class L2SoftmaxHead extends ClassificationHead {
  readonly name: string = 'l2softmax';
  readonly fc: Linear;
  /** The learnable α (a 0-d parameter 'alpha'), or null when α is fixed. */
  readonly alphaParameter: Tensor | null;
  readonly #alpha: number;
  readonly #learnable: boolean;

  constructor(cfg: L2SoftmaxHeadConfig) {
    super(cfg);
    this.#alpha = checkPositive(cfg.alpha ?? 15, 'alpha');
    this.#learnable = checkBoolean(cfg.learnableAlpha ?? false, 'learnableAlpha');
    const low = l2SoftmaxAlphaLow(this.numClasses, 0.9);
    const key = `${this.#alpha}/${this.numClasses}`;
    if (this.#alpha < low && !warned.has(key)) {
      warned.add(key);
      console.warn(`L2SoftmaxHead: alpha = ${this.#alpha} is below the lower bound ${low.toFixed(2)} for ${this.numClasses} classes ` +
        '(Ranjan et al. 2017, p = 0.9): no sample can reach probability 0.9 for its class, which slows training');
    }
    this.fc = this.registerModule('fc', new Linear({ inFeatures: this.embeddingDim, outFeatures: this.numClasses }));
    this.alphaParameter = this.#learnable ? this.registerParameter('alpha', scalar(this.#alpha)) : null;
  }

  /** The current α (reads the parameter when learnable). */
  get alpha(): number {
    return this.alphaParameter === null ? this.#alpha : this.alphaParameter.item();
  }

  override logits(embeddings: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.logits`);
    return tidy(() => this.fc.forward(normalize(embeddings, { dim: 1 }).mul(this.alphaParameter ?? this.#alpha)));
  }

  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    checkLabels(labels, 'labels', embeddings.shape[0], this.numClasses, `${this.name}.loss`);
    return tidy(() => crossEntropy(this.logits(embeddings), labels, { reduction: 'none' }));
  }

  protected options(): Record<string, unknown> {
    return { alpha: this.#alpha, learnableAlpha: this.#learnable };
  }
}

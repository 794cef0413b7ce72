// MarginSoftmaxHead: the base of the normalised-softmax family (NormFace, CosFace, ArcFace,
// SphereFace, AdaCos, sub-centre ArcFace), as pytorch-metric-learning's WeightRegularizerMixin +
// LargeMarginSoftmaxLoss family: it owns the class weights W [C,D] ('weight'), normalises the
// embeddings and W, computes cos θ = ê·Ŵᵀ, applies the variant's target-logit rule to the
// true-class entries only, scales, and takes the cross-entropy. A variant overrides targetLogit
// (and, for SphereFace and AdaCos, logitScale; for sub-centres, cosine).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { where } from '../tensor/combine.js';
import { crossEntropy, normalize } from '../nn/functional.js';
import { glorotUniform } from '../nn/init.js';
import { ClassificationHead } from './classification-head.js';
import type { HeadConfig } from './head.js';
import { checkPositive } from '../tensor/checks.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';
import { classMask } from './class-mask.js';

export interface MarginSoftmaxHeadConfig extends HeadConfig {
  /** Logit scale s. */
  scale?: number;
}

export abstract class MarginSoftmaxHead extends ClassificationHead {
  /** Class weights [C·rows per class, D]: the parameter 'weight' (PyTorch layout, one row per class). */
  readonly weight: Tensor;
  /** Logit scale s (AdaCos and SphereFace replace it through logitScale). */
  readonly scale: number;

  /**
   * @param defaultScale s when cfg.scale is not given.
   * @param rowsPerClass weight rows per class (sub-centres); 1 for the others.
   */
  constructor(cfg: MarginSoftmaxHeadConfig, defaultScale: number, rowsPerClass = 1) {
    super(cfg);
    this.scale = checkPositive(cfg.scale ?? defaultScale, 'scale');
    const rows = this.numClasses * rowsPerClass;
    // Only W's direction matters; Glorot-uniform as insightface's xavier_uniform_.
    this.weight = this.registerParameter('weight', glorotUniform([rows, this.embeddingDim], { fanIn: this.embeddingDim, fanOut: rows }));
  }

  /** cos θ [N,C] between the normalised embeddings and the normalised class weights. */
  cosine(embeddings: Tensor): Tensor {
    return tidy(() => normalize(embeddings, { dim: 1 }).matmul(normalize(this.weight, { dim: 1 }).T).clamp(-1, 1));
  }

  /**
   * The margin rule: maps the true-class cosines [N,1] to the true-class logits before scaling.
   * The identity here (NormFace: no margin); CosFace, ArcFace and SphereFace override it.
   */
  targetLogit(cosTarget: Tensor): Tensor {
    return cosTarget.clone();
  }

  /**
   * The scale applied to every logit: s, or a tensor that broadcasts over [N,C]. labels is given
   * during loss computation only (AdaCos updates its dynamic scale from them in training mode).
   */
  protected logitScale(_embeddings: Tensor, _cos: Tensor, _labels?: Tensor): Tensor | number {
    return this.scale;
  }

  /** Scaled cosines without margin, [N,C]. */
  override logits(embeddings: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.logits`);
    return tidy(() => {
      const cos = this.cosine(embeddings);
      return cos.mul(this.logitScale(embeddings, cos));
    });
  }

  /** Scaled logits with the margin applied to each sample's true class, [N,C]. */
  marginLogits(embeddings: Tensor, labels: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, `${this.name}.loss`);
    checkLabels(labels, 'labels', embeddings.shape[0], this.numClasses, `${this.name}.loss`);
    return tidy(() => {
      const cos = this.cosine(embeddings);
      const target = this.targetLogit(cos.gather(1, labels.unsqueeze(1)));
      const withMargin = where(classMask(labels, this.numClasses), target, cos);
      return withMargin.mul(this.logitScale(embeddings, cos, labels));
    });
  }

  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => crossEntropy(this.marginLogits(embeddings, labels), labels, { reduction: 'none' }));
  }

  protected options(): Record<string, unknown> {
    return { scale: this.scale };
  }
}

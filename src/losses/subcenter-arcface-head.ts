// SubCenterArcFaceHead ('subcenter-arcface') — Deng, Guo, Liu, Gong & Zafeiriou 2020, "Sub-center
// ArcFace: Boosting Face Recognition by Large-scale Noisy Web Faces", ECCV 2020 (no arXiv version).
// K sub-centres per class: W is [C·K, D], rows c·K … c·K+K−1 belong to class c (the layout of
// pytorch-metric-learning's SubCenterArcFaceLoss), and a class's cosine is the largest over its
// sub-centres; the ArcFace margin and scale then apply. Noisy samples settle on non-dominant
// sub-centres instead of pulling the dominant one. (The paper's later step of dropping
// non-dominant sub-centres and outliers is not included.)
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { checkInt } from '../tensor/checks.js';
import { ArcFaceHead, type ArcFaceHeadConfig } from './arcface-head.js';

export interface SubCenterArcFaceHeadConfig extends ArcFaceHeadConfig {
  /** Sub-centres per class K (default 3). */
  subCenters?: number;
}

export class SubCenterArcFaceHead extends ArcFaceHead {
  override readonly name: string = 'subcenter-arcface';
  readonly subCenters: number;

  constructor(cfg: SubCenterArcFaceHeadConfig) {
    const k = checkInt(cfg.subCenters ?? 3, 'subCenters', 1);
    super(cfg, k);
    this.subCenters = k;
  }

  /** cos θ [N,C]: for each class, the largest cosine over its K sub-centres. */
  override cosine(embeddings: Tensor): Tensor {
    return tidy(() => super.cosine(embeddings).reshape(embeddings.shape[0], this.numClasses, this.subCenters).max(2));
  }

  protected override options(): Record<string, unknown> {
    return { ...super.options(), subCenters: this.subCenters };
  }
}

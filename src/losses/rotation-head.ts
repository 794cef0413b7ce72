// RotationHead: predicts by how many quarter turns an image was rotated (4 classes) from its
// embedding — the self-supervised head of Gidaris et al. 2018 (arXiv:1803.07728). Beside a class
// head it is Hendrycks et al. 2019's auxiliary task (arXiv:1906.12340); alone, trained on normal
// images only, it is a one-class detector (Golan & El-Yaniv 2018, arXiv:1805.10917).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { Linear } from '../nn/linear.js';
import { crossEntropy } from '../nn/functional.js';
import { checkInt } from '../tensor/checks.js';
import { ClassificationHead } from './classification-head.js';
import { checkEmbeddings, checkLabels } from '../tensor/tensor-checks.js';
import { ROTATION_COUNT } from './rotate.js';

export interface RotationHeadConfig {
  embeddingDim: number;
  /** Always 4 (0°, 90°, 180°, 270°); accepted so createHead-style configs round-trip. */
  numClasses?: number;
  /** Units of a hidden ReLU layer before the 4 logits; 0 (default) = one linear layer. */
  hidden?: number;
}

export class RotationHead extends ClassificationHead {
  readonly name = 'rotation';
  readonly hidden: number;
  /** State-dict names 'hidden.*' (when hidden > 0) and 'fc.weight' [4,·], 'fc.bias' [4]. */
  readonly hiddenLayer: Linear | null;
  readonly fc: Linear;

  constructor(cfg: RotationHeadConfig) {
    if (cfg.numClasses !== undefined && cfg.numClasses !== ROTATION_COUNT) {
      throw new TypeError(`Expected numClasses ${ROTATION_COUNT} (or none) for the rotation head but received ${cfg.numClasses}`);
    }
    super({ embeddingDim: cfg.embeddingDim, numClasses: ROTATION_COUNT });
    this.hidden = checkInt(cfg.hidden ?? 0, 'hidden units of the rotation head', 0);
    this.hiddenLayer = this.hidden > 0 ? this.registerModule('hidden', new Linear({ inFeatures: this.embeddingDim, outFeatures: this.hidden })) : null;
    this.fc = this.registerModule('fc', new Linear({ inFeatures: this.hidden || this.embeddingDim, outFeatures: ROTATION_COUNT }));
  }

  override logits(embeddings: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, 'rotation.logits');
    return tidy(() => this.fc.forward(this.hiddenLayer ? this.hiddenLayer.forward(embeddings).relu() : embeddings));
  }

  /** Cross-entropy of each row's rotation label 0…3. */
  lossTerms(embeddings: Tensor, labels: Tensor): Tensor {
    checkEmbeddings(embeddings, 'embeddings', this.embeddingDim, 'rotation.loss');
    checkLabels(labels, 'labels', embeddings.shape[0], ROTATION_COUNT, 'rotation.loss');
    return tidy(() => crossEntropy(this.logits(embeddings), labels, { reduction: 'none' }));
  }

  protected options(): Record<string, unknown> {
    return { hidden: this.hidden };
  }
}

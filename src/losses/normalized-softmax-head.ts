// NormalizedSoftmaxHead ('normface') — Wang, Xiang, Cheng & Yuille 2017, "NormFace: L2 Hypersphere
// Embedding for Face Verification", arXiv:1704.06369.
// Cosine logits scaled by s, no margin: the base's identity targetLogit. The paper shows that
// without a scale the softmax cannot get close to one-hot on the unit sphere; s = 16 is in the
// range it recommends for a few thousand classes and trains well for 10 to 100 classes.
import { MarginSoftmaxHead, type MarginSoftmaxHeadConfig } from './margin-softmax-head.js';

export type NormalizedSoftmaxHeadConfig = MarginSoftmaxHeadConfig;

export class NormalizedSoftmaxHead extends MarginSoftmaxHead {
  readonly name: string = 'normface';

  constructor(cfg: NormalizedSoftmaxHeadConfig) {
    super(cfg, 16);
  }
}

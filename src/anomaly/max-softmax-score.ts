// The maximum-softmax-probability baseline (Hendrycks & Gimpel 2017, arXiv:1610.02136): a
// classifier is less sure of images unlike its training classes. No fitting needed.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Head } from '../losses/head.js';

/** 1 − max_c softmax(logits)_c per row of embeddings [N,D]: higher = more anomalous. */
export function maxSoftmaxScore(head: Head, embeddings: Tensor): Tensor {
  if (!head.classifies) {
    throw new TypeError(`Expected a head with class logits for the msp score but received '${head.name}', which does not classify`);
  }
  return noGrad(() => tidy(() => head.logits(embeddings).softmax(1).max(1).neg().add(1)));
}

// Scores from a classifying head's softmax, no fitting needed: the maximum-softmax-probability
// baseline (Hendrycks & Gimpel 2017, arXiv:1610.02136) — a classifier is less sure of images unlike
// its training classes — and the probability mass off the normal classes.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Head } from '../losses/head.js';

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

// Batched embedding extraction: the model in eval mode, no autograd, results gathered on the CPU.
import { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/combine.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';

/** What extraction needs from a model (a Module satisfies it). */
export interface EmbeddingModel {
  training: boolean;
  eval(): unknown;
  train(mode?: boolean): unknown;
  forward(x: Tensor): Tensor;
}

export interface ExtractOptions {
  /** Dispose each input batch once embedded (for loaders whose batches nobody else frees). */
  disposeBatches?: boolean;
}

/**
 * Runs model.forward over every batch in eval mode without gradients and concatenates the
 * outputs into one [N,D] float32 CPU tensor. The model's previous train/eval mode is restored
 * even when a batch fails. The caller owns the batches unless disposeBatches is set.
 */
export async function extractEmbeddings(
  model: EmbeddingModel,
  batches: Iterable<Tensor> | AsyncIterable<Tensor>,
  opts: ExtractOptions = {},
): Promise<Tensor> {
  const wasTraining = model.training;
  const parts: Tensor[] = [];
  let width = -1;
  model.eval();
  try {
    let index = 0;
    for await (const batch of batches) {
      if (!(batch instanceof Tensor)) throw new TypeError(`Expected a Tensor for batch ${index} but received ${typeof batch}`);
      const out = noGrad(() => tidy(() => {
        const y = model.forward(batch);
        if (y.ndim !== 2 || y.shape[0] !== batch.shape[0]) {
          throw new TypeError(`Expected the model to return [${batch.shape[0]},D] embeddings for batch ${index} but received shape [${y.shape.join(',')}]`);
        }
        // to('cpu') and float() may return new handles; tidy frees the intermediates.
        return y.to('cpu').float();
      }));
      parts.push(keep(out));
      if (width === -1) width = out.shape[1];
      else if (out.shape[1] !== width) {
        throw new TypeError(`Expected embeddings of width ${width} (as in batch 0) for batch ${index} but received ${out.shape[1]}`);
      }
      if (opts.disposeBatches) batch.dispose();
      index++;
    }
    if (parts.length === 0) throw new TypeError('Expected at least one batch to embed but received none');
    return parts.length === 1 ? parts.pop()! : cat(parts, 0);
  } finally {
    dispose(parts);
    model.train(wasTraining);
  }
}

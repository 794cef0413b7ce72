// Worker thread of DataLoader: holds a view of the dataset's shared image bytes and prepares
// batches on request, so gathering and augmentation overlap with the training step.

import { parentPort } from 'node:worker_threads';
import { assembleBatch, type BatchSource } from './batch-assembly.js';

export type WorkerRequest =
  | { type: 'init'; source: BatchSource }
  | { type: 'batch'; id: number; indices: Int32Array; seed: number };

export type WorkerReply = { id: number; images: Uint8Array; labels: Int32Array; indices: Int32Array } | { id: number; error: string };

let source: BatchSource | undefined;

parentPort?.on('message', (request: WorkerRequest) => {
  if (request.type === 'init') {
    source = request.source;
    return;
  }
  try {
    if (!source) throw new Error('augment worker received a batch request before init');
    const batch = assembleBatch(source, request.indices, request.seed);
    const reply: WorkerReply = { id: request.id, images: batch.images, labels: batch.labels, indices: batch.indices };
    // Transferring the fresh buffers hands them over without a copy.
    parentPort!.postMessage(reply, [batch.images.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: (error as Error).stack ?? String(error) } satisfies WorkerReply);
  }
});

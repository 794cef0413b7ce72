// A trainer checkpoint as an ONNX file: the embedding network, the input scaling it was trained
// with, and (for output 'logits'/'both') its head; class names and provenance in the metadata.
import { basename, resolve } from 'node:path';
import { loadTrainedModel } from '../train/trained-model.js';
import { MobileNetV2 } from '../models/mobilenet-v2.js';
import { checkInt } from '../tensor/checks.js';
import { exportOnnx, type OnnxExportOptions, type OnnxModelSignature } from './export-onnx.js';

export interface CheckpointOnnxOptions extends Pick<OnnxExportOptions, 'output' | 'normalizeEmbedding' | 'inputDtype'> {
  /**
   * Input height = width. Default: the MobileNetV2's own input size, else 32 (the trainer's
   * CIFAR-sized images; checkpoints do not record the image size of other backbones).
   */
  inputSize?: number;
}

export async function exportCheckpointOnnx(checkpoint: string, out: string, o: CheckpointOnnxOptions = {}): Promise<OnnxModelSignature & { path: string; fileBytes: number }> {
  // Unfused: the exporter folds BatchNorm itself, from the exact running statistics.
  const trained = loadTrainedModel(resolve(checkpoint));
  try {
    const backbone = trained.model.backbone;
    const own = backbone instanceof MobileNetV2 ? backbone.config.inputSize : undefined;
    if (own !== undefined && o.inputSize !== undefined && o.inputSize !== own) {
      throw new Error(`onnx export: ${checkpoint} holds a MobileNetV2 built for ${own}×${own} inputs (its padding depends on the size) but inputSize ${o.inputSize} was asked for`);
    }
    const size = checkInt(o.inputSize ?? own ?? 32, 'inputSize', 1);
    return await exportOnnx(trained.model, out, {
      height: size, width: size, normalization: trained.config.normalization, head: trained.head,
      output: o.output, normalizeEmbedding: o.normalizeEmbedding, inputDtype: o.inputDtype,
      metadata: {
        'deepmetric.classes': JSON.stringify(trained.classes),
        'deepmetric.checkpoint': basename(checkpoint),
        'deepmetric.epoch': String(trained.epoch),
      },
    });
  } finally {
    trained.dispose();
  }
}

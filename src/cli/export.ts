// `deepmetric export`: a checkpoint as an ONNX model for ONNX Runtime (Node, web, Python, C++…).
import { basename, resolve } from 'node:path';
import { exportCheckpointOnnx } from '../export/export-checkpoint.js';
import { exportDetectorOnnx } from '../export/export-detector.js';
import { AnomalyDetector } from '../anomaly/anomaly-detector.js';
import { ONNX_OUTPUT_KINDS, type OnnxModelSignature, type OnnxOutputKind } from '../export/export-onnx.js';
import { formatTable } from '../util/table.js';
import { type CommandSpec, parseOptions, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'Export a checkpoint or a detector to ONNX (images NHWC 0-255 in; embedding and/or logits out)',
  options: {
    checkpoint: { type: 'string', description: 'A checkpoint written by train/compare/anomaly (this or --detector)' },
    detector: { type: 'string', description: 'A detector file (detector.dmdet): its network with its preprocessing, the embedding always L2-normalised; threshold and classes in the metadata' },
    format: { type: 'string', default: 'onnx', choices: ['onnx'], description: 'Output format' },
    out: { type: 'string', default: 'model.onnx', description: 'Output file' },
    output: { type: 'string', default: 'embedding', choices: ONNX_OUTPUT_KINDS, description: "The graph's outputs: 'embedding', the head's class 'logits', or 'both'" },
    normalize: { type: 'boolean', default: false, description: "L2-normalise the 'embedding' output per image" },
    'input-dtype': { type: 'string', default: 'uint8', choices: ['uint8', 'float32'], description: "Element type of the 'images' input [batch,H,W,C], values 0-255 either way" },
    'input-size': { type: 'number', integer: true, min: 1, description: "Image height = width (default: the MobileNetV2's own, else 32)" },
    threads: TRAINING_OPTIONS.threads,
  },
  examples: [
    'deepmetric export --checkpoint runs/seed/checkpoints/l2softmax/best.ckpt --format onnx --out model.onnx',
    'deepmetric export --checkpoint best.ckpt --output both --normalize --out model.onnx',
    'deepmetric export --detector runs/detector/detector.dmdet --format onnx --out detector.onnx',
  ],
};

export async function exportCommand(argv: string[]): Promise<OnnxModelSignature & { path: string; fileBytes: number }> {
  const o = parseOptions(exportSpec, argv);
  if (!o.checkpoint === !o.detector) throw new UsageError(`Expected either --checkpoint PATH or --detector PATH but received ${o.checkpoint ? 'both' : 'neither'}`);
  applyRuntime({ ...o, device: 'cpu' });
  const result = o.detector ? await exportDetector(o.detector as string, o) : await exportCheckpointOnnx(resolve(o.checkpoint as string), resolve(o.out as string), {
    output: o.output as OnnxOutputKind, normalizeEmbedding: o.normalize as boolean,
    inputDtype: o['input-dtype'] as 'uint8' | 'float32', inputSize: o['input-size'] as number | undefined,
  });
  const rows = [...result.inputs.map((t) => ({ kind: 'input', ...t })), ...result.outputs.map((t) => ({ kind: 'output', ...t }))]
    .map((t) => ({ kind: t.kind, name: t.name, dtype: t.dtype, shape: `[${t.shape.join(', ')}]` }));
  process.stdout.write(`${formatTable(rows)}\n\nWrote ${result.path} (${(result.fileBytes / 2 ** 20).toFixed(1)} MiB, opset ${result.opset}, ${result.nodes} nodes)\n`);
  return result;
}

async function exportDetector(path: string, o: ReturnType<typeof parseOptions>): Promise<OnnxModelSignature & { path: string; fileBytes: number }> {
  if (o['input-size'] !== undefined) throw new UsageError("Expected no --input-size with --detector (the detector's preprocessing fixes the size) but received one");
  // Unfused: the exporter folds BatchNorm itself, from the exact running statistics.
  const detector = AnomalyDetector.load(resolve(path), { fuse: false });
  try {
    return await exportDetectorOnnx(detector, resolve(o.out as string), {
      output: o.output as OnnxOutputKind, inputDtype: o['input-dtype'] as 'uint8' | 'float32', metadata: { 'deepmetric.detector': basename(path) },
    });
  } finally {
    detector.dispose();
  }
}

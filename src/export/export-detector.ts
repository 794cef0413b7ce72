// A saved anomaly detector as an ONNX file: the network the detector compares images with (the
// embedding network, or the autoencoder's encoder with its code flattened) with the detector's
// input scaling inside, its output L2-normalised by default; the threshold, class names and
// method in the metadata. The score itself (k-NN, Mahalanobis…) stays outside the graph: it
// needs the stored normal embeddings, which a client compares with the output.
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/containers.js';
import { Flatten } from '../nn/simple-layers.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import type { AnomalyDetector } from '../anomaly/anomaly-detector.js';
import { normalizationOf } from '../data/preprocessing.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { buildOnnxModel, type BuiltOnnxModel, type OnnxExportOptions, type OnnxModelSignature } from './export-onnx.js';

export interface DetectorOnnxOptions extends Pick<OnnxExportOptions, 'output' | 'inputDtype'> {
  /** L2-normalise the 'embedding' output per image (default true). */
  normalizeEmbedding?: boolean;
  /** Extra metadata_props (added to the detector's own). */
  metadata?: Record<string, string>;
}

/** The module whose output the detector compares: the embedding network, or encoder → flatten for the autoencoder. */
function featureModule(detector: AnomalyDetector): Module {
  const net = detector.network;
  return net instanceof ConvAutoencoder ? new Sequential(net.encoder, Flatten()) : net;
}

/** The detector's graph in memory (bytes and signature). */
export function buildDetectorOnnx(detector: AnomalyDetector, o: DetectorOnnxOptions = {}): BuiltOnnxModel {
  const m = detector.manifest;
  const p = detector.preprocessing;
  const output = o.output ?? 'embedding';
  if (output !== 'embedding' && !detector.head) {
    throw new TypeError(`onnx export: Expected output 'embedding' for an autoencoder detector (it has no classification head) but received '${output}'`);
  }
  const method = m.method.kind === 'embedding'
    ? { kind: 'embedding', backbone: m.method.backbone, head: m.method.head.name, scorer: m.method.scorer }
    : { kind: 'autoencoder', feature: 'encoder code, flattened' };
  return buildOnnxModel(featureModule(detector), {
    height: p.height, width: p.width, channels: p.channels, normalization: normalizationOf(p),
    normalizeEmbedding: o.normalizeEmbedding ?? true, output, head: detector.head ?? undefined, inputDtype: o.inputDtype,
    graphName: m.method.kind === 'embedding' ? 'DetectorEmbedding' : 'DetectorEncoder',
    metadata: {
      'deepmetric.threshold': String(m.threshold.value),
      'deepmetric.threshold_rule': JSON.stringify(m.threshold),
      'deepmetric.classes': JSON.stringify(m.classes),
      'deepmetric.normal_classes': JSON.stringify(m.normal_classes),
      'deepmetric.method': JSON.stringify(method),
      'deepmetric.preprocessing': JSON.stringify(p),
      'deepmetric.neighbours_metric': m.neighbours.metric,
      'deepmetric.detector_created': m.created,
      ...o.metadata,
    },
  });
}

/** Writes the detector's graph to path atomically; returns its signature and size. */
export async function exportDetectorOnnx(detector: AnomalyDetector, path: string, o: DetectorOnnxOptions = {}): Promise<OnnxModelSignature & { path: string; fileBytes: number }> {
  const { bytes, ...signature } = buildDetectorOnnx(detector, o);
  await writeFileAtomic(path, bytes);
  return { ...signature, path, fileBytes: bytes.length };
}

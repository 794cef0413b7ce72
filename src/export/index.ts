// Export to ONNX: re-exports only.
export { exportOnnx, buildOnnxModel, ONNX_OUTPUT_KINDS, ONNX_EMBEDDING_NAME, ONNX_LOGITS_NAME,
  type OnnxExportOptions, type OnnxOutputKind, type OnnxModelSignature, type OnnxTensorSignature, type BuiltOnnxModel } from './export-onnx.js';
export { exportCheckpointOnnx, type CheckpointOnnxOptions } from './export-checkpoint.js';
export { exportDetectorOnnx, buildDetectorOnnx, type DetectorOnnxOptions } from './export-detector.js';
export { ONNX_INPUT_NAME, ONNX_BATCH_DIM, type OnnxImageInput } from './input-preprocessing.js';
export { registerOnnxEmitter, type ModuleEmitter, type EmitContext } from './module-emitters.js';
export { registerOnnxHeadEmitter, type HeadEmitter } from './head-emitters.js';
export { OnnxGraph, type OnnxValueInfo, type OnnxDim, type OnnxAttribute } from './onnx-graph.js';
export { ONNX_OPSET, ONNX_IR_VERSION, decodeOnnxModel, onnxProtoPath } from './onnx-proto.js';

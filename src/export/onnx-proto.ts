// The ONNX model schema: the official onnx.proto (vendored in ./vendor with its licence), loaded
// once with protobufjs, and the few enum values the exporter needs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** IR version 8 and opset 17: the newest that Debian's onnx 1.12 checker knows; ONNX Runtime runs both. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

/** TensorProto.DataType values. */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT64: 7 } as const;
export type OnnxDataTypeCode = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/**
 * The schema file. Compiled code runs from dist/src/export, the source lives in src/export: both
 * resolve to the one copy in src/export/vendor, which ships with the package.
 */
export function onnxProtoPath(): string {
  const fromDist = fileURLToPath(new URL('../../../src/export/vendor/onnx.proto', import.meta.url));
  if (existsSync(fromDist)) return fromDist;
  const fromSource = fileURLToPath(new URL('./vendor/onnx.proto', import.meta.url));
  if (existsSync(fromSource)) return fromSource;
  throw new Error(`onnx export: the ONNX schema is missing (looked for ${fromDist} and ${fromSource}); reinstall deepmetric`);
}

let modelType: protobuf.Type | null = null;

/** onnx.ModelProto, with field names as in onnx.proto (snake_case). */
export function onnxModelType(): protobuf.Type {
  modelType ??= new protobuf.Root().loadSync(onnxProtoPath(), { keepCase: true }).lookupType('onnx.ModelProto');
  return modelType;
}

/** Serialises a ModelProto given as a plain object; a field the schema lacks is an error. */
export function encodeOnnxModel(model: Record<string, unknown>): Uint8Array {
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new Error(`onnx export: the model does not fit onnx.ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parses .onnx bytes back into a plain object (int64 fields as numbers, bytes as Uint8Array). */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as Record<string, unknown>;
}

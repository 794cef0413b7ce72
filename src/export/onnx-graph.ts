// OnnxGraph: collects nodes, initializers (weights and constants) and the graph's inputs and
// outputs while module emitters walk a model, then assembles an onnx.GraphProto.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import { OnnxAttributeType, OnnxDataType, type OnnxDataTypeCode } from './onnx-proto.js';

/** An attribute value: numbers are INT when integral unless given as { float }, arrays likewise. */
export type OnnxAttribute = number | number[] | string | { float: number } | { floats: number[] };

/** A dimension of a graph input or output: a fixed size or a symbolic name (e.g. 'batch'). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataTypeCode;
  shape: OnnxDim[];
}

interface Node {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

interface Initializer {
  name: string;
  dims: number[];
  data_type: OnnxDataTypeCode;
  raw_data: Uint8Array;
}

function attribute(name: string, v: OnnxAttribute): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: OnnxAttributeType.STRING, s: Buffer.from(v, 'utf8') };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`onnx export: attribute ${name} must be an integer here; pass { float: ${v} } for a float`);
    return { name, type: OnnxAttributeType.INT, i: v };
  }
  if (Array.isArray(v)) return { name, type: OnnxAttributeType.INTS, ints: v };
  if ('float' in v) return { name, type: OnnxAttributeType.FLOAT, f: v.float };
  return { name, type: OnnxAttributeType.FLOATS, floats: v.floats };
}

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian; so are x86 and ARM). */
function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class OnnxGraph {
  readonly #nodes: Node[] = [];
  readonly #initializers = new Map<string, Initializer>();
  readonly #used = new Set<string>();
  readonly #constants = new Map<string, string>();
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];

  /** A value name not used yet, derived from hint (dotted module paths are kept readable). */
  uniqueName(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'value';
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }

  addInput(info: OnnxValueInfo): string {
    if (this.#used.has(info.name)) throw new Error(`onnx export: the input name ${info.name} is already taken`);
    this.#used.add(info.name);
    this.inputs.push(info);
    return info.name;
  }

  /** Names value as a graph output (through Identity when it must carry another name). */
  addOutput(value: string, info: OnnxValueInfo): void {
    let produced = value;
    if (value !== info.name) {
      if (this.#used.has(info.name)) throw new Error(`onnx export: the output name ${info.name} is already taken`);
      this.#used.add(info.name);
      this.#nodes.push({ op_type: 'Identity', name: info.name, input: [value], output: [info.name], attribute: [] });
      produced = info.name;
    }
    this.outputs.push({ ...info, name: produced });
  }

  /** Adds a node with one output and returns the output's name. */
  node(op: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}, hint = op): string {
    const out = this.uniqueName(hint);
    this.#nodes.push({
      op_type: op, name: out, input: inputs, output: [out],
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** A float32 weight from a tensor (copied now; the tensor stays the caller's). */
  weight(name: string, t: Tensor): string {
    const data = noGrad(() => tidy(() => t.to('cpu').to('float32').contiguous().dataSync())) as Float32Array;
    return this.floatInitializer(name, data, t.shape);
  }

  floatInitializer(hint: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.uniqueName(hint);
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`onnx export: ${name} has ${values.length} values for dims [${dims.join(',')}]`);
    this.#initializers.set(name, { name, dims, data_type: OnnxDataType.FLOAT, raw_data: bytesOf(values) });
    return name;
  }

  /** A shared constant (scalars and small vectors such as Clip bounds, Pad amounts, shapes). */
  constant(values: number[], dtype: 'float32' | 'int64', dims: number[] = values.length === 1 ? [] : [values.length]): string {
    const key = `${dtype}:${dims.join('x')}:${values.join(',')}`;
    const known = this.#constants.get(key);
    if (known) return known;
    const name = this.uniqueName(`const_${dtype === 'int64' ? 'i' : 'f'}_${values.slice(0, 4).join('_')}`);
    const raw = dtype === 'int64' ? bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) : bytesOf(Float32Array.from(values));
    this.#initializers.set(name, { name, dims, data_type: dtype === 'int64' ? OnnxDataType.INT64 : OnnxDataType.FLOAT, raw_data: raw });
    this.#constants.set(key, name);
    return name;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** The onnx.GraphProto as a plain object for protobufjs. */
  toProto(name: string): Record<string, unknown> {
    if (this.outputs.length === 0) throw new Error('onnx export: the graph has no outputs');
    const valueInfo = (v: OnnxValueInfo): Record<string, unknown> => ({
      name: v.name,
      type: { tensor_type: { elem_type: v.elemType, shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
    });
    return {
      name,
      node: this.#nodes,
      initializer: [...this.#initializers.values()],
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    };
  }
}

// Keras HDF5 weight files (model.save_weights / keras.applications' *.h5) read through h5wasm, and
// their mapping onto the Keras-faithful MobileNetV2 by Keras's layer names
// (keras/src/applications/mobilenet_v2.py: Conv1, bn_Conv1, expanded_conv_depthwise, block_N_expand,
// block_N_depthwise, block_N_project, Conv_1, Conv_1_bn, predictions / Logits).
import { resolve } from 'node:path';
import type { RawTensor } from './raw-tensor.js';
import type { MobileNetV2 } from '../models/mobilenet-v2.js';

/** A layer's weights by their short name ('kernel', 'depthwise_kernel', 'gamma', 'moving_mean', …). */
export type KerasLayers = Map<string, Map<string, RawTensor>>;

type H5Module = typeof import('h5wasm');
let h5: Promise<H5Module> | null = null;

/** h5wasm's Node build (host filesystem access), initialised once. */
async function h5wasm(): Promise<H5Module> {
  h5 ??= (async () => {
    const m = (await import('h5wasm/node')) as unknown as { default?: H5Module } & Partial<H5Module>;
    const lib = (m.File ? m : m.default) as H5Module;
    await lib.ready;
    return lib;
  })();
  return h5;
}

/** An HDF5 string-array attribute as a list; weightless layers store an empty (numeric) array. */
function asList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  const items = Array.isArray(v) ? v : ArrayBuffer.isView(v) ? [] : [v];
  return items.map(String).filter((s) => s !== '');
}

/** Every layer with weights in a Keras .h5 file (a weights file, or a full model's model_weights group). */
export async function readKerasH5(path: string): Promise<KerasLayers> {
  const lib = await h5wasm();
  let file: InstanceType<H5Module['File']>;
  try {
    file = new lib.File(resolve(path), 'r');
  } catch (e) {
    throw new Error(`keras h5: cannot open ${path} as HDF5: ${(e as Error).message}`);
  }
  try {
    const keys = file.keys();
    const root = keys.includes('model_weights') ? (file.get('model_weights') as InstanceType<H5Module['Group']>) : file;
    const names = asList(root.attrs.layer_names?.value);
    if (names.length === 0) throw new Error(`keras h5: ${path} has no 'layer_names' attribute; is it a Keras weights file (save_weights / keras.applications)?`);
    const layers: KerasLayers = new Map();
    for (const layer of names) {
      const group = root.get(layer) as InstanceType<H5Module['Group']> | null;
      if (!group) throw new Error(`keras h5: ${path} lists layer '${layer}' in layer_names but has no group for it (damaged file?)`);
      const weights = new Map<string, RawTensor>();
      for (const weightName of asList(group.attrs.weight_names?.value)) {
        const ds = group.get(weightName) as InstanceType<H5Module['Dataset']> | null;
        if (!ds || !('shape' in ds)) throw new Error(`keras h5: ${path} has no dataset ${layer}/${weightName} listed in its weight_names (damaged file?)`);
        const value = ds.value as unknown;
        const data = value instanceof Float32Array ? value : value instanceof Float64Array ? Float32Array.from(value) : null;
        if (!data) throw new Error(`keras h5: ${path}: ${layer}/${weightName} holds ${ds.dtype} data; expected float32 or float64`);
        const shape = ds.shape ?? [];
        // 'block_1_expand/kernel:0' → 'kernel'
        const short = weightName.split('/').at(-1)!.replace(/:\d+$/, '');
        weights.set(short, { dtype: 'float32', shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      }
      if (weights.size > 0) layers.set(layer, weights);
    }
    return layers;
  } finally {
    file.close();
  }
}

/** How a Keras weight becomes one of ours: plain copy, conv kernel HWIO → OIHW, depthwise H W C 1 → C 1 H W, dense (in, out) → (out, in). */
export type KerasTransform = 'copy' | 'conv' | 'depthwise' | 'dense';

export interface KerasMapping {
  layer: string;
  weight: string;
  key: string;
  transform: KerasTransform;
}

const BN: [string, string][] = [['gamma', 'weight'], ['beta', 'bias'], ['moving_mean', 'running_mean'], ['moving_variance', 'running_var']];

function convBnMapping(conv: string, bn: string, path: string, depthwise = false): KerasMapping[] {
  return [
    { layer: conv, weight: depthwise ? 'depthwise_kernel' : 'kernel', key: `${path}.0.weight`, transform: depthwise ? 'depthwise' : 'conv' },
    ...BN.map(([w, k]) => ({ layer: bn, weight: w, key: `${path}.1.${k}`, transform: 'copy' as const })),
  ];
}

/** Keras layer/weight → our state_dict key for the Keras-faithful MobileNetV2 ('keras' variant, the 17 blocks of the paper). */
export function kerasMobileNetV2Mapping(model: MobileNetV2, topLayer = 'predictions'): KerasMapping[] {
  const map: KerasMapping[] = convBnMapping('Conv1', 'bn_Conv1', 'features.0');
  for (let b = 0; b < 17; b++) {
    const path = `features.${b + 1}.conv`;
    if (b === 0) {
      map.push(...convBnMapping('expanded_conv_depthwise', 'expanded_conv_depthwise_BN', `${path}.0`, true),
        ...convBnMapping('expanded_conv_project', 'expanded_conv_project_BN', `${path}.1`));
    } else {
      const p = `block_${b}_`;
      map.push(...convBnMapping(`${p}expand`, `${p}expand_BN`, `${path}.0`),
        ...convBnMapping(`${p}depthwise`, `${p}depthwise_BN`, `${path}.1`, true),
        ...convBnMapping(`${p}project`, `${p}project_BN`, `${path}.2`));
    }
  }
  map.push(...convBnMapping('Conv_1', 'Conv_1_bn', 'features.18'));
  if (model.classifier) {
    map.push({ layer: topLayer, weight: 'kernel', key: 'classifier.weight', transform: 'dense' }, { layer: topLayer, weight: 'bias', key: 'classifier.bias', transform: 'copy' });
  }
  return map;
}

/** Names Keras has used for MobileNetV2's top Dense layer: keras.applications ('predictions') and keras_applications ('Logits', in the published files). */
export const KERAS_TOP_LAYERS = ['predictions', 'Logits'];

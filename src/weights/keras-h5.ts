// Keras HDF5 weight files (model.save_weights / keras.applications' *.h5) read through h5wasm, and
// their mapping onto the Keras-faithful MobileNetV2 by Keras's layer names
// (keras/src/applications/mobilenet_v2.py: Conv1, bn_Conv1, expanded_conv_depthwise, block_N_expand,
// block_N_depthwise, block_N_project, Conv_1, Conv_1_bn, predictions / Logits).
import { closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { openInputFileSync } from '../util/input-file.js';
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
    // HDF5 errors become exceptions, instead of dozens of diagnostic lines printed to stderr.
    (await lib.ready).activate_throwing_error_handler();
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

/** An error of ours, as opposed to one HDF5 raised (which is reworded as a damaged file). */
class KerasH5Error extends Error {}

/** The gist of an HDF5 error stack: the failing call's reason, then the innermost one. */
function hdf5Reason(e: unknown): string {
  const message = (e as Error)?.message ?? String(e);
  const reasons = [...message.matchAll(/#\d+: .* in [\w.]+\(\): (.*)$/gm)].map((m) => m[1]);
  return reasons.length === 0 ? message : reasons.length === 1 ? reasons[0] : `${reasons[0]}: ${reasons.at(-1)}`;
}

/** Every layer with weights in a Keras .h5 file (a weights file, or a full model's model_weights group). */
export async function readKerasH5(path: string): Promise<KerasLayers> {
  // The guarded open first: h5wasm would wait for ever on a FIFO; and the file's size bounds what its datasets can hold.
  const { fd, size } = openInputFileSync(path, { what: 'Keras weights file' });
  closeSync(fd);
  const lib = await h5wasm();
  const fail = (why: string): never => { throw new KerasH5Error(`keras h5: ${path} ${why}`); };
  let file: InstanceType<H5Module['File']>;
  try {
    file = new lib.File(resolve(path), 'r');
  } catch (e) {
    return fail(`cannot be opened as HDF5 (damaged or not an HDF5 file): ${hdf5Reason(e)}`);
  }
  // What the attributes and datasets declare is checked before h5wasm allocates it: together they
  // cannot hold more than the file (a dataset of fill values, declared in a few bytes, could).
  let left = size;
  const checkedValue = (item: { metadata: { size: number; total_size: number; shape: number[] | null }; value: unknown }, what: string): unknown => {
    const { size: itemBytes, total_size: count, shape } = item.metadata;
    if (!(itemBytes * count <= left)) fail(`declares ${what} of shape [${shape}] (${itemBytes * count} bytes), more than the ${size}-byte file holds (a fill-value dataset, or damaged)`);
    left -= itemBytes * count;
    return item.value;
  };
  const attribute = (object: InstanceType<H5Module['Group']>, name: string, where: string): string[] => {
    const attr = object.attrs[name];
    return attr ? asList(checkedValue(attr, `the attribute ${where}${name}`)) : [];
  };
  try {
    const root = file.keys().includes('model_weights') ? file.get('model_weights') : file;
    if (!(root instanceof lib.Group)) return fail("has a 'model_weights' entry that is not a group (damaged file?)");
    const names = attribute(root, 'layer_names', '');
    if (names.length === 0) fail("has no 'layer_names' attribute; is it a Keras weights file (save_weights / keras.applications)?");
    const layers: KerasLayers = new Map();
    for (const layer of names) {
      const group = root.get(layer);
      if (!(group instanceof lib.Group)) return fail(`lists layer '${layer}' in layer_names but has no group for it (damaged file?)`);
      const weights = new Map<string, RawTensor>();
      for (const weightName of attribute(group, 'weight_names', `${layer}/`)) {
        const ds = group.get(weightName);
        if (!(ds instanceof lib.Dataset)) return fail(`has no dataset ${layer}/${weightName} listed in its weight_names (damaged file?)`);
        const value = checkedValue(ds, `the dataset ${layer}/${weightName}`);
        const data = value instanceof Float32Array ? value : value instanceof Float64Array ? Float32Array.from(value) : null;
        if (!data) return fail(`holds ${ds.dtype} data in ${layer}/${weightName}; expected float32 or float64`);
        // 'block_1_expand/kernel:0' → 'kernel'
        const short = weightName.split('/').at(-1)!.replace(/:\d+$/, '');
        weights.set(short, { dtype: 'float32', shape: ds.shape ?? [], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      }
      if (weights.size > 0) layers.set(layer, weights);
    }
    return layers;
  } catch (e) {
    if (e instanceof KerasH5Error) throw e;
    return fail(`cannot be read (damaged file?): ${hdf5Reason(e)}`);
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

// Reads the tensors of a PyTorch checkpoint as torch.save writes it, without Python: the zip form
// (torch ≥ 1.6: <name>/data.pkl plus one raw storage per tensor in <name>/data/<key>) and the
// legacy form (pickles back to back, then the storages). The pickle is read with a restricted
// reader (./pickle.ts) that knows only the globals a state_dict uses.
import { readFile } from 'node:fs/promises';
import { unpickle, PyGlobal, type UnpickleHooks } from './pickle.js';
import { readZipEntries } from './zip-entries.js';
import { ELEMENT_BYTES, gatherStrided, numel, type RawTensor } from './raw-tensor.js';
import type { DType } from '../tensor/dtype.js';

/** How each storage type is read: the dtype it becomes, and a conversion for types libtorch gets here as another. */
const STORAGES: Record<string, { dtype: DType; bytes: number; convert?: (src: Uint8Array) => Uint8Array }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'float32', bytes: 2, convert: bfloat16ToFloat32 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int32', bytes: 2, convert: (s) => widenInt(s, 2) },
  CharStorage: { dtype: 'int32', bytes: 1, convert: (s) => widenInt(s, 1) },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

const REBUILDERS = new Set(['_rebuild_tensor_v2', '_rebuild_tensor', '_rebuild_parameter', '_rebuild_parameter_with_state']);

function bfloat16ToFloat32(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length * 2);
  for (let i = 0; i < src.length / 2; i++) {
    out[4 * i + 2] = src[2 * i];
    out[4 * i + 3] = src[2 * i + 1];
  }
  return out;
}

function widenInt(src: Uint8Array, width: 1 | 2): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Int32Array(src.length / width);
  for (let i = 0; i < out.length; i++) out[i] = width === 1 ? view.getInt8(i) : view.getInt16(2 * i, true);
  return new Uint8Array(out.buffer);
}

/** A storage named in the pickle; its bytes arrive from the zip entry or, in the legacy form, after the pickle. */
interface StorageRef { type: string; key: string; numel: number; bytes?: Uint8Array }

/** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly strides: number[]) {}
}

function hooks(source: string, storages: Map<string, StorageRef>, loadBytes: ((key: string) => Uint8Array) | null): UnpickleHooks {
  const fail = (why: string): never => { throw new Error(`torch checkpoint: ${source}: ${why}`); };
  return {
    allowGlobal: (module, name) => (module === 'collections' && name === 'OrderedDict')
      || (module === 'torch._utils' && REBUILDERS.has(name))
      // Legacy files of CUDA tensors name torch.cuda.FloatStorage etc.; the bytes are the same.
      || ((module === 'torch' || module === 'torch.cuda') && name in STORAGES),
    call(fn, args) {
      if (fn.module === 'collections') return new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []);
      if (fn.name === '_rebuild_parameter' || fn.name === '_rebuild_parameter_with_state') return args[0];
      const [storage, offset, shape, strides] = args as [StorageRef, number, number[], number[]];
      if (!storage || typeof storage.key !== 'string') fail(`${fn.qualified} without a storage`);
      if (!Array.isArray(shape) || !Array.isArray(strides) || shape.length !== strides.length) fail(`${fn.qualified} with a malformed shape or stride`);
      return new TensorRef(storage, offset, shape.map(Number), strides.map(Number));
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage') fail(`unknown persistent id ${JSON.stringify(pid)}`);
      const [, type, key, , size, viewMetadata] = pid as [string, PyGlobal, string, string, number, unknown];
      if (!(type instanceof PyGlobal) || !(type.name in STORAGES)) fail(`storage of unsupported type ${type instanceof PyGlobal ? type.qualified : String(type)}`);
      if (viewMetadata) fail('storage views (a pre-1.0 torch feature) are not supported; re-save the file with a recent torch');
      const id = String(key);
      let s = storages.get(id);
      if (!s) {
        s = { type: type.name, key: id, numel: Number(size) };
        if (loadBytes) s.bytes = loadBytes(id);
        storages.set(id, s);
      }
      return s;
    },
  };
}

function toRaw(ref: TensorRef, name: string, source: string): RawTensor {
  const kind = STORAGES[ref.storage.type];
  const bytes = ref.storage.bytes;
  if (!bytes) throw new Error(`torch checkpoint: ${source}: the storage of '${name}' is missing`);
  const n = numel(ref.shape);
  const last = n === 0 ? 0 : ref.offset + ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.strides[i], 0);
  if (n > 0 && (last + 1) * kind.bytes > bytes.length) {
    throw new Error(`torch checkpoint: ${source}: tensor '${name}' [${ref.shape.join(',')}] reaches past the end of its storage (${bytes.length} bytes); is the file truncated?`);
  }
  let data = gatherStrided(bytes, kind.bytes, ref.offset, ref.shape, ref.strides);
  if (kind.convert) data = kind.convert(data);
  if (data.length !== n * ELEMENT_BYTES[kind.dtype]) throw new Error(`torch checkpoint: ${source}: tensor '${name}' has ${data.length} bytes for shape [${ref.shape}]`);
  return { dtype: kind.dtype, shape: ref.shape, bytes: data };
}

/** The state_dict inside what was saved: the top-level dict, or the usual nesting of training scripts. */
function findStateDict(value: unknown, source: string): Map<unknown, unknown> {
  const isTensorDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map && v.size > 0 && [...v.values()].every((t) => t instanceof TensorRef);
  if (isTensorDict(value)) return value;
  if (value instanceof Map) {
    for (const key of ['state_dict', 'model_state_dict', 'model', 'module', 'net']) {
      if (isTensorDict(value.get(key))) return value.get(key) as Map<unknown, unknown>;
    }
    const bad = [...value.entries()].find(([, v]) => !(v instanceof TensorRef));
    if (bad) throw new Error(`torch checkpoint: ${source} is not a state_dict: entry ${JSON.stringify(String(bad[0]))} is not a tensor, and there is no 'state_dict' or 'model' entry holding one`);
  }
  throw new Error(`torch checkpoint: ${source} does not hold a state_dict (a dict of tensors) but ${value === null ? 'None' : Array.isArray(value) ? 'a list or tuple' : typeof value}`);
}

function collect(value: unknown, source: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  const state = findStateDict(value, source);
  // nn.DataParallel / DistributedDataParallel save every key under 'module.'.
  const wrapped = [...state.keys()].every((k) => String(k).startsWith('module.'));
  for (const [k, ref] of state) out.set(wrapped ? String(k).slice('module.'.length) : String(k), toRaw(ref as TensorRef, String(k), source));
  return out;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

async function readZipCheckpoint(buf: Buffer, source: string): Promise<Map<string, RawTensor>> {
  const entries = await readZipEntries(buf, source);
  const pklName = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pklName) throw new Error(`torch checkpoint: ${source} is a zip without data.pkl; is it a torch.save file? (entries: ${[...entries.keys()].slice(0, 5).join(', ')})`);
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`)?.toString('utf8').trim();
  if (order && order !== 'little') throw new Error(`torch checkpoint: ${source} was written on a ${order}-endian machine, which is not supported`);
  const storages = new Map<string, StorageRef>();
  const load = (key: string): Uint8Array => {
    const data = entries.get(`${prefix}data/${key}`);
    if (!data) throw new Error(`torch checkpoint: ${source} has no entry ${prefix}data/${key} for a storage its pickle refers to; is the file truncated?`);
    return data;
  };
  const { value } = unpickle(entries.get(pklName)!, hooks(source, storages, load), `${source} (${pklName})`);
  return collect(value, source);
}

function readLegacyCheckpoint(buf: Buffer, source: string): Map<string, RawTensor> {
  const plain: UnpickleHooks = { allowGlobal: () => false, call: () => null };
  let at = 0;
  const next = (h: UnpickleHooks): unknown => {
    const r = unpickle(buf, h, `${source} (legacy format)`, at);
    at = r.end;
    return r.value;
  };
  const magic = next(plain);
  if ((typeof magic !== 'number' && typeof magic !== 'bigint') || BigInt(magic) !== LEGACY_MAGIC) throw new Error(`torch checkpoint: ${source} is neither a zip nor a legacy torch.save file (bad magic number)`);
  const protocol = next(plain);
  if (protocol !== 1001) throw new Error(`torch checkpoint: ${source} uses legacy protocol ${String(protocol)}, expected 1001`);
  const sysInfo = next(plain) as Map<string, unknown>;
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) throw new Error(`torch checkpoint: ${source} was written big-endian, which is not supported`);
  const storages = new Map<string, StorageRef>();
  const value = next(hooks(source, storages, null));
  const keys = next(plain);
  if (!Array.isArray(keys)) throw new Error(`torch checkpoint: ${source}: the legacy storage key list is missing`);
  for (const key of keys as string[]) {
    const s = storages.get(String(key));
    if (at + 8 > buf.length) throw new Error(`torch checkpoint: ${source} ends before storage ${key} (truncated file?)`);
    const count = Number(buf.readBigInt64LE(at));
    at += 8;
    const bytes = count * STORAGES[s?.type ?? 'ByteStorage'].bytes;
    if (at + bytes > buf.length) throw new Error(`torch checkpoint: ${source} ends inside storage ${key} (truncated file?)`);
    if (s) s.bytes = buf.subarray(at, at + bytes);
    at += bytes;
  }
  return collect(value, source);
}

/** Reads a torch.save'd state_dict (zip or legacy form) into raw tensors by key. */
export async function readTorchCheckpoint(path: string): Promise<Map<string, RawTensor>> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new Error(`torch checkpoint: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeTorchCheckpoint(buf, path);
}

export async function decodeTorchCheckpoint(buf: Buffer, source: string): Promise<Map<string, RawTensor>> {
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return readZipCheckpoint(buf, source);
  if (buf.length >= 2 && buf[0] === 0x80) return readLegacyCheckpoint(buf, source);
  throw new Error(`torch checkpoint: ${source} is neither a zip (torch ≥ 1.6) nor a legacy torch.save file (it starts with bytes ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

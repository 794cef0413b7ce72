// Reads the tensors of a PyTorch checkpoint as torch.save writes it, without Python: the zip form
// (torch ≥ 1.6: <name>/data.pkl plus one raw storage per tensor in <name>/data/<key>) and the
// legacy form (pickles back to back, then the storages). The pickle is read with a restricted
// reader (./pickle.ts) that knows only the globals a state_dict uses.
import { unpickle, PyGlobal, type UnpickleHooks } from './pickle.js';
import { openZip } from './zip-entries.js';
import { ELEMENT_BYTES, gatherStrided, numel, type RawTensor } from './raw-tensor.js';
import type { DType } from '../tensor/dtype.js';
import { bundleMismatch } from '../serialize/safetensors.js';
import { readInputFile } from '../util/input-file.js';

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

/** A storage named in the pickle; its byte length (from the zip's directory, or the legacy count) is known before its bytes are read. */
class StorageRef {
  byteLength?: number;
  bytes?: Uint8Array;
  constructor(readonly type: string, readonly key: string, readonly numel: number) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly strides: number[]) {}
}

const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Views may repeat a storage's elements (tied weights, stride 0), but together they may hold at most this many times their storages' bytes… */
const VIEW_FACTOR = 2;
/** …or this many bytes, whichever is more: a small file cannot make us allocate more than this. */
const VIEW_ALLOWANCE = 64 * 1024 ** 2;

function hooks(source: string, storages: Map<string, StorageRef>): UnpickleHooks {
  const fail = (why: string): never => { throw new Error(`torch checkpoint: ${source}: ${why}`); };
  return {
    allowGlobal: (module, name) => (module === 'collections' && name === 'OrderedDict')
      || (module === 'torch._utils' && REBUILDERS.has(name))
      // Legacy files of CUDA tensors name torch.cuda.FloatStorage etc.; the bytes are the same.
      || ((module === 'torch' || module === 'torch.cuda') && Object.hasOwn(STORAGES, name)),
    call(fn, args) {
      if (fn.module === 'collections') return new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []);
      if (fn.name === '_rebuild_parameter' || fn.name === '_rebuild_parameter_with_state') return args[0];
      const [storage, offset, shape, strides] = args;
      if (!(storage instanceof StorageRef)) fail(`${fn.qualified} without a storage`);
      if (!Array.isArray(shape) || !Array.isArray(strides) || shape.length !== strides.length) fail(`${fn.qualified} with a malformed shape or stride`);
      return new TensorRef(storage as StorageRef, Number(offset), (shape as unknown[]).map(Number), (strides as unknown[]).map(Number));
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage') fail(`unknown persistent id ${String(pid)}`);
      const [, type, key, , size, viewMetadata] = pid as [string, PyGlobal, string, string, number, unknown];
      if (!(type instanceof PyGlobal) || !Object.hasOwn(STORAGES, type.name)) fail(`storage of unsupported type ${type instanceof PyGlobal ? type.qualified : String(type)}`);
      if (viewMetadata) fail('storage views (a pre-1.0 torch feature) are not supported; re-save the file with a recent torch');
      const id = String(key);
      let s = storages.get(id);
      if (!s) {
        if (!isCount(Number(size))) fail(`storage ${id} declares ${String(size)} elements, not a count`);
        s = new StorageRef(type.name, id, Number(size));
        storages.set(id, s);
      }
      return s;
    },
  };
}

/** The distinct storages the tensors view; each must have its bytes' length set, matching what the pickle declares. */
function storagesOf(state: Map<string, TensorRef>, source: string): StorageRef[] {
  const used = [...new Set([...state.values()].map((t) => t.storage))];
  for (const s of used) {
    const expected = s.numel * STORAGES[s.type].bytes;
    if (s.byteLength === undefined) throw new Error(`torch checkpoint: ${source}: storage ${s.key} is missing; is the file truncated?`);
    if (s.byteLength !== expected) {
      throw new Error(`torch checkpoint: ${source}: storage ${s.key} holds ${s.byteLength} bytes but its pickle declares ${s.numel} elements of ${STORAGES[s.type].bytes} bytes (damaged file?)`);
    }
  }
  return used;
}

/**
 * Checks every view against the real length of its storage, and what they take together against
 * the limits, before anything is copied: a view of a tiny storage may claim a huge shape.
 */
function checkViews(state: Map<string, TensorRef>, storages: StorageRef[], source: string): void {
  const storageBytes = storages.reduce((sum, s) => sum + s.byteLength!, 0);
  const limit = Math.max(VIEW_FACTOR * storageBytes, VIEW_ALLOWANCE);
  let total = 0;
  for (const [name, ref] of state) {
    const fail = (why: string): never => {
      throw new Error(`torch checkpoint: ${source}: tensor '${name}' (shape [${ref.shape}], strides [${ref.strides}], storage offset ${ref.offset}) ${why}`);
    };
    const elementBytes = STORAGES[ref.storage.type].bytes;
    if (!isCount(ref.offset) || !ref.shape.every(isCount) || !ref.strides.every(isCount)) fail('has a negative or non-integer size, stride or offset');
    const n = numel(ref.shape);
    if (!Number.isSafeInteger(n)) fail('has too many elements');
    const last = ref.offset + ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.strides[i], 0);
    if (n > 0 && (last + 1) * elementBytes > ref.storage.byteLength!) fail(`reaches past the end of its storage (${ref.storage.byteLength} bytes); is the file truncated?`);
    total += n * elementBytes;
    if (total > limit) fail(`brings the tensors to ${total} bytes, more than ${VIEW_FACTOR}× the ${storageBytes} bytes of their storages or ${VIEW_ALLOWANCE} bytes (repeated views of a small storage?)`);
  }
}

function toRaw(ref: TensorRef, name: string, source: string): RawTensor {
  const kind = STORAGES[ref.storage.type];
  try {
    const data = gatherStrided(ref.storage.bytes!, kind.bytes, ref.offset, ref.shape, ref.strides);
    return { dtype: kind.dtype, shape: ref.shape, bytes: kind.convert ? kind.convert(data) : data };
  } catch (e) {
    throw new Error(`torch checkpoint: ${source}: cannot hold tensor '${name}' [${ref.shape}] (${numel(ref.shape) * ELEMENT_BYTES[kind.dtype]} bytes): ${(e as Error).message}`);
  }
}

/** The state_dict inside what was saved: the top-level dict, or the usual nesting of training scripts. */
function findStateDict(value: unknown, source: string): Map<string, TensorRef> {
  const isTensorDict = (v: unknown): v is Map<string, TensorRef> => v instanceof Map && v.size > 0 && [...v.values()].every((t) => t instanceof TensorRef);
  const named = (v: Map<unknown, unknown>): Map<string, TensorRef> => new Map([...v].map(([k, t]) => [String(k), t as TensorRef]));
  if (isTensorDict(value)) return named(value);
  if (value instanceof Map) {
    for (const key of ['state_dict', 'model_state_dict', 'model', 'module', 'net']) {
      if (isTensorDict(value.get(key))) return named(value.get(key) as Map<unknown, unknown>);
    }
    const bad = [...value.entries()].find(([, v]) => !(v instanceof TensorRef));
    if (bad) throw new Error(`torch checkpoint: ${source} is not a state_dict: entry ${JSON.stringify(String(bad[0]))} is not a tensor, and there is no 'state_dict' or 'model' entry holding one`);
  }
  throw new Error(`torch checkpoint: ${source} does not hold a state_dict (a dict of tensors) but ${value === null ? 'None' : Array.isArray(value) ? 'a list or tuple' : typeof value}`);
}

/** Copies out every tensor of a checked state_dict whose storages' bytes are loaded. */
function collect(state: Map<string, TensorRef>, source: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  // nn.DataParallel / DistributedDataParallel save every key under 'module.'.
  const wrapped = [...state.keys()].every((k) => k.startsWith('module.'));
  for (const [k, ref] of state) out.set(wrapped ? k.slice('module.'.length) : k, toRaw(ref, k, source));
  return out;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

async function readZipCheckpoint(buf: Buffer, source: string): Promise<Map<string, RawTensor>> {
  const zip = await openZip(buf, source);
  const pklName = zip.names.find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pklName) throw new Error(`torch checkpoint: ${source} is a zip without data.pkl; is it a torch.save file? (entries: ${zip.names.slice(0, 5).join(', ')})`);
  const prefix = pklName.slice(0, -'data.pkl'.length);
  if (zip.size(`${prefix}byteorder`) !== undefined) {
    const order = (await zip.read(`${prefix}byteorder`)).toString('utf8').trim();
    if (order !== 'little') throw new Error(`torch checkpoint: ${source} was written on a ${order}-endian machine, which is not supported`);
  }
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(await zip.read(pklName), hooks(source, storages), `${source} (${pklName})`);
  const state = findStateDict(value, source);
  // Sizes first, from the zip's directory; then only the storages the state_dict uses are inflated.
  for (const ref of state.values()) ref.storage.byteLength = zip.size(`${prefix}data/${ref.storage.key}`);
  const used = storagesOf(state, source);
  checkViews(state, used, source);
  for (const s of used) s.bytes = await zip.read(`${prefix}data/${s.key}`);
  return collect(state, source);
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
  const value = next(hooks(source, storages));
  const keys = next(plain);
  if (!Array.isArray(keys)) throw new Error(`torch checkpoint: ${source}: the legacy storage key list is missing`);
  for (const key of keys as unknown[]) {
    const s = storages.get(String(key));
    if (at + 8 > buf.length) throw new Error(`torch checkpoint: ${source} ends before storage ${String(key)} (truncated file?)`);
    const count = buf.readBigInt64LE(at);
    at += 8;
    const bytes = Number(count) * STORAGES[s?.type ?? 'ByteStorage'].bytes;
    if (count < 0n) throw new Error(`torch checkpoint: ${source}: storage ${String(key)} declares ${count} elements, not a count`);
    if (at + bytes > buf.length) throw new Error(`torch checkpoint: ${source} ends inside storage ${String(key)} (truncated file?)`);
    if (s) {
      s.byteLength = bytes;
      s.bytes = buf.subarray(at, at + bytes);
    }
    at += bytes;
  }
  const state = findStateDict(value, source);
  checkViews(state, storagesOf(state, source), source);
  return collect(state, source);
}

/** Reads a torch.save'd state_dict (zip or legacy form) into raw tensors by key. */
export async function readTorchCheckpoint(path: string): Promise<Map<string, RawTensor>> {
  return decodeTorchCheckpoint(await readInputFile(path, { what: 'weights file' }), path);
}

export async function decodeTorchCheckpoint(buf: Buffer, source: string): Promise<Map<string, RawTensor>> {
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return readZipCheckpoint(buf, source);
  if (buf.length >= 2 && buf[0] === 0x80) return readLegacyCheckpoint(buf, source);
  const bundle = bundleMismatch(buf, source, 'PyTorch checkpoint');
  if (bundle) throw new Error(`torch checkpoint: ${bundle}`);
  throw new Error(`torch checkpoint: ${source} is neither a zip (torch ≥ 1.6) nor a legacy torch.save file (it starts with bytes ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

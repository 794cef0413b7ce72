// The Tensor class: a JS handle on a libtorch tensor, with its ops as methods.
import { native, type NativeHandle } from '../binding/native.js';
import { type DType, type TypedArray, checkDtype, viewAs } from './dtype.js';
import { checkDim, checkDims, checkInt, checkNumber, checkShape, describe } from './checks.js';
import { type Scope, track } from './memory.js';
import { checkDevice, type Device } from './device.js';

export type Operand = Tensor | number | boolean;
export type MemoryFormat = 'contiguous' | 'channels_last';
export type Reduction = 'mean' | 'sum' | 'none';

function wrap(handle: NativeHandle): Tensor {
  return new Tensor(handle);
}

function wrapPair(pair: [NativeHandle, NativeHandle]): { values: Tensor; indices: Tensor } {
  return { values: wrap(pair[0]), indices: wrap(pair[1]) };
}

function shapeString(shape: number[]): string {
  return `[${shape.join(',')}]`;
}

/** The handle a GC safety-net entry frees; its id is -1 once the tensor released it itself. */
type NetEntry = { id: number };

// Frees tensors that left every tidy scope and were collected without dispose(). Tensors owned
// by a scope need no entry (the scope frees them), so the hot path pays nothing for it.
const safetyNet = new FinalizationRegistry<NetEntry>((entry) => {
  if (entry.id >= 0) native.free(entry.id as unknown as NativeHandle);
  entry.id = -1;
});

// Tensors outside every scope get their safety-net entries in batches: most are disposed right
// away (`t.add(1).dispose()` at top level) and then need none. A batch is armed when it is full
// or when the event loop next turns, which is also the earliest a finalizer could run.
const unarmed: Tensor[] = [];
let armScheduled = false;
function armUnscoped(): void {
  for (const t of unarmed) t.__armNet();
  unarmed.length = 0;
  armScheduled = false;
}

export class Tensor {
  /** Marks tensors for dispose()/tidy() collection. */
  readonly __tensor = true;
  /** The tidy scope that will dispose this tensor, if any (see memory.ts). @internal */
  __scope: Scope | null = null;
  #handle: NativeHandle | null;
  #net: NetEntry | null = null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;

  /** Takes ownership of a native handle. Use the creation functions (tensor, zeros, …) instead. */
  constructor(handle: NativeHandle) {
    this.#handle = handle;
    track(this);
  }

  /** Called once the tensor is owned by no scope: from now on GC frees it if dispose() never does. @internal */
  __unscoped(): void {
    unarmed.push(this);
    if (unarmed.length >= 1024) {
      armUnscoped();
    } else if (!armScheduled) {
      armScheduled = true;
      setImmediate(armUnscoped);
    }
  }

  /** Registers the GC safety-net entry unless disposed meanwhile (see armUnscoped). @internal */
  __armNet(): void {
    if (this.#net === null && this.#handle !== null) {
      this.#net = { id: this.#handle as unknown as number };
      safetyNet.register(this, this.#net);
    }
  }

  /** Marks the tensor disposed and returns the handle for its scope to free (null if already). @internal */
  __release(): NativeHandle | null {
    const handle = this.#handle;
    if (handle !== null) {
      this.#handle = null;
      if (this.#net !== null) this.#net.id = -1;
    }
    return handle;
  }

  /** The native handle; throws if the tensor was disposed. */
  get handle(): NativeHandle {
    if (this.#handle === null) {
      throw new Error('Tensor is disposed: it was released by dispose() or by the tidy() scope that created it (keep() it to use it later)');
    }
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /**
   * Makes this tensor refer to other's storage and releases its own (other is consumed). Used to
   * move module parameters between devices while everything that holds this Tensor keeps it.
   */
  replaceWith_(other: Tensor): this {
    const next = other.handle;
    other.__release();
    this.dispose();
    this.#handle = next;
    if (this.#net !== null) this.#net.id = next as unknown as number;
    this.#shape = undefined;
    this.#dtype = undefined;
    return this;
  }

  /** Releases the native memory now. Safe to call more than once. */
  dispose(): void {
    const handle = this.__release();
    if (handle !== null) native.free(handle);
  }

  // ---- metadata ----
  get shape(): number[] {
    return (this.#shape ??= native.shape(this.handle)).slice();
  }
  /** The cached shape itself, not a copy: for the library's own argument checks, never to be changed. @internal */
  get shapeRef(): readonly number[] {
    return (this.#shape ??= native.shape(this.handle));
  }
  get ndim(): number {
    return (this.#shape ??= native.shape(this.handle)).length;
  }
  get size(): number {
    return (this.#shape ??= native.shape(this.handle)).reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return (this.#dtype ??= native.dtype(this.handle) as DType);
  }
  get device(): string {
    return native.device(this.handle);
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  isContiguous(format: MemoryFormat = 'contiguous'): boolean {
    return native.isContiguous(this.handle, format);
  }

  // ---- data out ----
  /** A copy of the elements, row-major, as the TypedArray of this dtype (int64 as BigInt64Array). */
  dataSync(): TypedArray {
    return viewAs(native.toData(this.handle), this.dtype);
  }
  /** Like dataSync, but the copy runs off the JS thread. */
  async data(): Promise<TypedArray> {
    const dtype = this.dtype;
    return viewAs(await native.toDataAsync(this.handle), dtype);
  }
  /** The elements as plain numbers (int64 converted; fine below 2^53). */
  toNumbers(): number[] {
    const d = this.dataSync();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }
  /** Nested arrays of numbers (booleans for bool tensors), as torch.Tensor.tolist(). */
  toArray(): unknown {
    const flat: (number | boolean)[] = this.dtype === 'bool' ? this.toNumbers().map(Boolean) : this.toNumbers();
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    const build = (dim: number, offset: number): unknown[] => {
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: shape[dim] }, (_, i) =>
        dim === shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * stride),
      );
    };
    return build(0, 0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }
  toString(): string {
    return `Tensor(shape=${shapeString(this.shape)}, dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- conversion ----
  to(target: DType | Device): Tensor {
    if (typeof target === 'string' && (target === 'cpu' || target.startsWith('cuda'))) {
      return wrap(native.toDevice(this.handle, checkDevice(target)));
    }
    return wrap(native.toDtype(this.handle, checkDtype(target)));
  }
  float(): Tensor { return this.to('float32'); }
  long(): Tensor { return this.to('int64'); }
  clone(): Tensor { return wrap(native.clone(this.handle)); }
  /** A copy in the given memory layout ('channels_last' is NHWC in memory for 4-d tensors). */
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    if (format === 'channels_last' && this.ndim !== 4) {
      throw new TypeError(`Expected a 4-d tensor for channels_last but received shape ${shapeString(this.shape)}`);
    }
    return wrap(native.contiguous(this.handle, format));
  }
  /**
   * A channels-last copy with canonical NHWC strides even when a dim of size 1 makes the layout
   * ambiguous — as torch's .to(memory_format=channels_last). Depthwise kernels [C,1,k,k] need it.
   */
  toChannelsLast(): Tensor {
    if (this.ndim !== 4) throw new TypeError(`Expected a 4-d tensor for toChannelsLast but received shape ${shapeString(this.shape)}`);
    return wrap(native.cloneChannelsLast(this.handle));
  }
  /** Whether the strides are exactly NHWC's (unambiguous channels-last). */
  hasCanonicalChannelsLastStrides(): boolean {
    const [, c, , w] = this.shape;
    const s = this.strides;
    return this.ndim === 4 && s[1] === 1 && s[3] === c && s[2] === w * c && s[0] === this.shape[2] * w * c;
  }

  // ---- elementwise arithmetic (broadcasting) ----
  add(other: Operand, alpha?: number): Tensor { return wrap(other instanceof Tensor ? native.add(this.handle, other.handle, alpha) : native.addScalar(this.handle, other, alpha)); }
  sub(other: Operand, alpha?: number): Tensor { return wrap(other instanceof Tensor ? native.sub(this.handle, other.handle, alpha) : native.subScalar(this.handle, other, alpha)); }
  /** other − this, for a scalar other. */
  rsub(other: number): Tensor { return wrap(native.rsub(this.handle, other)); }
  mul(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.mul(this.handle, other.handle) : native.mulScalar(this.handle, other)); }
  div(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.div(this.handle, other.handle) : native.divScalar(this.handle, other)); }
  pow(exponent: Operand): Tensor { return wrap(exponent instanceof Tensor ? native.pow(this.handle, exponent.handle) : native.powScalar(this.handle, exponent)); }
  remainder(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.remainder(this.handle, other.handle) : native.remainderScalar(this.handle, other)); }
  maximum(other: Tensor): Tensor { return wrap(native.maximum(this.handle, other.handle)); }
  minimum(other: Tensor): Tensor { return wrap(native.minimum(this.handle, other.handle)); }
  atan2(other: Tensor): Tensor { return wrap(native.atan2(this.handle, other.handle)); }
  neg(): Tensor { return wrap(native.neg(this.handle)); }
  abs(): Tensor { return wrap(native.abs(this.handle)); }
  exp(): Tensor { return wrap(native.exp(this.handle)); }
  log(): Tensor { return wrap(native.log(this.handle)); }
  log1p(): Tensor { return wrap(native.log1p(this.handle)); }
  expm1(): Tensor { return wrap(native.expm1(this.handle)); }
  sqrt(): Tensor { return wrap(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return wrap(native.rsqrt(this.handle)); }
  square(): Tensor { return wrap(native.square(this.handle)); }
  reciprocal(): Tensor { return wrap(native.reciprocal(this.handle)); }
  sign(): Tensor { return wrap(native.sign(this.handle)); }
  floor(): Tensor { return wrap(native.floor(this.handle)); }
  ceil(): Tensor { return wrap(native.ceil(this.handle)); }
  round(): Tensor { return wrap(native.round(this.handle)); }
  cos(): Tensor { return wrap(native.cos(this.handle)); }
  sin(): Tensor { return wrap(native.sin(this.handle)); }
  tan(): Tensor { return wrap(native.tan(this.handle)); }
  acos(): Tensor { return wrap(native.acos(this.handle)); }
  asin(): Tensor { return wrap(native.asin(this.handle)); }
  atan(): Tensor { return wrap(native.atan(this.handle)); }
  erf(): Tensor { return wrap(native.erf(this.handle)); }
  isnan(): Tensor { return wrap(native.isnan(this.handle)); }
  isfinite(): Tensor { return wrap(native.isfinite(this.handle)); }
  clamp(min?: number, max?: number): Tensor {
    if (min === undefined && max === undefined) throw new TypeError('Expected at least one of min and max for clamp but received neither');
    return wrap(native.clamp(this.handle, min, max));
  }
  clampMin(min: number): Tensor { return this.clamp(min, undefined); }
  clampMax(max: number): Tensor { return this.clamp(undefined, max); }

  // ---- comparison and logic (results are bool tensors) ----
  eq(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.eq(this.handle, other.handle) : native.eqScalar(this.handle, other)); }
  ne(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.ne(this.handle, other.handle) : native.neScalar(this.handle, other)); }
  lt(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.lt(this.handle, other.handle) : native.ltScalar(this.handle, other)); }
  le(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.le(this.handle, other.handle) : native.leScalar(this.handle, other)); }
  gt(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.gt(this.handle, other.handle) : native.gtScalar(this.handle, other)); }
  ge(other: Operand): Tensor { return wrap(other instanceof Tensor ? native.ge(this.handle, other.handle) : native.geScalar(this.handle, other)); }
  logicalAnd(other: Tensor): Tensor { return wrap(native.logicalAnd(this.handle, other.handle)); }
  logicalOr(other: Tensor): Tensor { return wrap(native.logicalOr(this.handle, other.handle)); }
  logicalXor(other: Tensor): Tensor { return wrap(native.logicalXor(this.handle, other.handle)); }
  logicalNot(): Tensor { return wrap(native.logicalNot(this.handle)); }
  /** Elements of this where mask is false, value where it is true. */
  maskedFill(mask: Tensor, value: number | boolean): Tensor { return wrap(native.maskedFill(this.handle, mask.handle, value)); }

  // ---- in-place (used for parameters and buffers; not recorded for autograd on leaves that require grad) ----
  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); return this; }
  fill_(value: number | boolean): this { native.fill_(this.handle, value); return this; }
  zero_(): this { native.zero_(this.handle); return this; }
  add_(other: Operand, alpha?: number): this { if (other instanceof Tensor) native.add_(this.handle, other.handle, alpha); else native.addScalar_(this.handle, other, alpha); return this; }
  mul_(other: Operand): this { if (other instanceof Tensor) native.mul_(this.handle, other.handle); else native.mulScalar_(this.handle, other); return this; }

  // ---- reductions ----
  sum(dims?: number | number[], keepdim = false): Tensor {
    return wrap(native.sum(this.handle, checkDims(dims, this.ndim, 'sum'), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return wrap(native.mean(this.handle, checkDims(dims, this.ndim, 'mean'), keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return wrap(native.prod(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'prod'), keepdim));
  }
  cumsum(dim: number): Tensor { return wrap(native.cumsum(this.handle, checkDim(dim, this.ndim, 'cumsum'))); }
  /** Largest value over dims (all if omitted). For the indices too, use maxWithIndices. */
  max(dims?: number | number[], keepdim = false): Tensor {
    if (dims === undefined) return wrap(native.max(this.handle));
    return wrap(native.amax(this.handle, checkDims(dims, this.ndim, 'max'), keepdim));
  }
  min(dims?: number | number[], keepdim = false): Tensor {
    if (dims === undefined) return wrap(native.min(this.handle));
    return wrap(native.amin(this.handle, checkDims(dims, this.ndim, 'min'), keepdim));
  }
  maxWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    return wrapPair(native.max(this.handle, checkDim(dim, this.ndim, 'max'), keepdim));
  }
  minWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    return wrapPair(native.min(this.handle, checkDim(dim, this.ndim, 'min'), keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmax(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'argmax'), keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmin(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'argmin'), keepdim));
  }
  /** Vector p-norm over dims (all if omitted). */
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return wrap(native.norm(this.handle, checkNumber(p, 'p of norm'), checkDims(dims, this.ndim, 'norm'), keepdim));
  }
  /** Variance with Bessel's correction by default (correction = 1), as torch.var. */
  var(dims?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(native.var(this.handle, checkDims(dims, this.ndim, 'var'), opts.correction ?? 1, opts.keepdim ?? false));
  }
  std(dims?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(native.std(this.handle, checkDims(dims, this.ndim, 'std'), opts.correction ?? 1, opts.keepdim ?? false));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return wrap(native.logsumexp(this.handle, checkDims(dims, this.ndim, 'logsumexp'), keepdim));
  }
  /** Median of all elements (the lower of the two middle values, as torch.median). */
  median(): Tensor { return wrap(native.median(this.handle)); }
  medianWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    return wrapPair(native.median(this.handle, checkDim(dim, this.ndim, 'median'), keepdim));
  }
  any(dim?: number, keepdim = false): Tensor {
    return wrap(native.any(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'any'), keepdim));
  }
  all(dim?: number, keepdim = false): Tensor {
    return wrap(native.all(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'all'), keepdim));
  }

  // ---- linear algebra and sorting ----
  matmul(other: Tensor): Tensor {
    const a = this.shape;
    const b = other.shape;
    if (a.length === 0 || b.length === 0) throw new TypeError(`matmul: Expected tensors of rank ≥ 1 but received shapes ${shapeString(a)} and ${shapeString(b)}`);
    const k1 = a[a.length - 1];
    const k2 = b.length === 1 ? b[0] : b[b.length - 2];
    if (k1 !== k2) throw new Error(`matmul: shapes ${shapeString(a)} and ${shapeString(b)} cannot be multiplied (${k1} ≠ ${k2})`);
    return wrap(native.matmul(this.handle, other.handle));
  }
  mm(other: Tensor): Tensor { return wrap(native.mm(this.handle, other.handle)); }
  bmm(other: Tensor): Tensor { return wrap(native.bmm(this.handle, other.handle)); }
  outer(other: Tensor): Tensor { return wrap(native.outer(this.handle, other.handle)); }
  /** k largest (or smallest) values along dim, sorted. */
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    checkDim(dim, this.ndim, 'topk');
    const n = this.ndim === 0 ? 1 : this.shape.at(dim)!;
    checkInt(k, `k of topk on a dim of size ${n}`, 0, n);
    return wrapPair(native.topk(this.handle, k, dim, largest));
  }
  sort(dim = -1, descending = false, stable = false): { values: Tensor; indices: Tensor } {
    return wrapPair(native.sort(this.handle, checkDim(dim, this.ndim, 'sort'), descending, stable));
  }
  argsort(dim = -1, descending = false): Tensor {
    return wrap(native.argsort(this.handle, checkDim(dim, this.ndim, 'argsort'), descending));
  }

  // ---- shape and layout ----
  reshape(...shape: number[] | [number[]]): Tensor {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    const known = s.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const size = this.size;
    if (!s.every((d) => Number.isInteger(d) && d >= -1) || s.filter((d) => d === -1).length > 1
      || (s.includes(-1) ? known === 0 || size % known !== 0 : known !== size)) {
      throw new TypeError(`reshape: Expected a shape with ${size} elements (at most one -1) for a tensor of shape ${shapeString(this.shape)} but received ${shapeString(s)}`);
    }
    return wrap(native.reshape(this.handle, s));
  }
  view(...shape: number[] | [number[]]): Tensor {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    return wrap(native.view(this.handle, s));
  }
  permute(...dims: number[] | [number[]]): Tensor {
    const d = (Array.isArray(dims[0]) ? dims[0] : dims) as number[];
    if (d.length !== this.ndim) throw new TypeError(`permute: Expected ${this.ndim} dims but received ${describe(d)}`);
    return wrap(native.permute(this.handle, d));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(native.transpose(this.handle, checkDim(dim0, this.ndim, 'transpose'), checkDim(dim1, this.ndim, 'transpose')));
  }
  /** The transpose of a 2-d tensor. */
  get T(): Tensor { return this.transpose(0, 1); }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.handle, checkDim(dim, this.ndim, 'narrow'), start, length));
  }
  /** Elements start ≤ i < end (step apart) along dim, as a view. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    checkInt(step, 'step of slice', 1);
    return wrap(native.slice(this.handle, checkDim(dim, this.ndim, 'slice'), start, end, step));
  }
  /** The index-th slice along dim, removing that dim. */
  select(dim: number, index: number): Tensor {
    return wrap(native.select(this.handle, checkDim(dim, this.ndim, 'select'), index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.indexSelect(this.handle, checkDim(dim, this.ndim, 'indexSelect'), index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.gather(this.handle, checkDim(dim, this.ndim, 'gather'), index.handle));
  }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    const d = checkDim(dim, this.ndim, 'scatter');
    return wrap(src instanceof Tensor ? native.scatter(this.handle, d, index.handle, src.handle) : native.scatterScalar(this.handle, d, index.handle, src));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatterAdd(this.handle, checkDim(dim, this.ndim, 'scatterAdd'), index.handle, src.handle));
  }
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.indexAdd(this.handle, checkDim(dim, this.ndim, 'indexAdd'), index.handle, src.handle));
  }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(this.handle, mask.handle)); }
  nonzero(): Tensor { return wrap(native.nonzero(this.handle)); }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return native.split(this.handle, sizeOrSizes, checkDim(dim, this.ndim, 'split')).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return native.chunk(this.handle, checkInt(chunks, 'chunks', 1), checkDim(dim, this.ndim, 'chunk')).map(wrap);
  }
  expand(...shape: number[] | [number[]]): Tensor {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    return wrap(native.expand(this.handle, s));
  }
  repeat(...reps: number[] | [number[]]): Tensor {
    const r = (Array.isArray(reps[0]) ? reps[0] : reps) as number[];
    return wrap(native.repeat(this.handle, checkShape(r, 'repeats')));
  }
  squeeze(dim?: number): Tensor {
    return wrap(native.squeeze(this.handle, dim === undefined ? undefined : checkDim(dim, this.ndim, 'squeeze')));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(native.unsqueeze(this.handle, checkDim(dim, this.ndim + 1, 'unsqueeze')));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    return wrap(native.flatten(this.handle, checkDim(startDim, this.ndim, 'flatten'), checkDim(endDim, this.ndim, 'flatten')));
  }
  flip(dims: number | number[]): Tensor { return wrap(native.flip(this.handle, checkDims(dims, this.ndim, 'flip')!)); }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return wrap(native.roll(this.handle, Array.isArray(shifts) ? shifts : [shifts], checkDims(dims, this.ndim, 'roll')!));
  }
  tril(diagonal = 0): Tensor { return wrap(native.tril(this.handle, diagonal)); }
  triu(diagonal = 0): Tensor { return wrap(native.triu(this.handle, diagonal)); }
  diag(diagonal = 0): Tensor { return wrap(native.diag(this.handle, diagonal)); }

  // ---- activations ----
  relu(): Tensor { return wrap(native.relu(this.handle)); }
  relu6(): Tensor { return wrap(native.relu6(this.handle)); }
  /** In-place ReLU; only on tensors whose old values autograd does not need (e.g. a BatchNorm output). */
  relu_(): this { native.relu_(this.handle); return this; }
  relu6_(): this { native.relu6_(this.handle); return this; }
  sigmoid(): Tensor { return wrap(native.sigmoid(this.handle)); }
  tanh(): Tensor { return wrap(native.tanh(this.handle)); }
  softmax(dim: number): Tensor { return wrap(native.softmax(this.handle, checkDim(dim, this.ndim, 'softmax'))); }
  logSoftmax(dim: number): Tensor { return wrap(native.logSoftmax(this.handle, checkDim(dim, this.ndim, 'logSoftmax'))); }

  // ---- autograd ----
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  /** Marks a leaf tensor as needing gradients (in place). */
  requiresGrad_(value = true): this { native.setRequiresGrad(this.handle, value); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The accumulated gradient (a new handle each call), or null before any backward. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : wrap(g);
  }
  /** Drops the accumulated gradient. */
  zeroGrad(): void { native.clearGrad(this.handle); }
  /** Back-propagates from this tensor; a gradient is needed unless it has one element. */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, opts.retainGraph ?? false);
  }
  detach(): Tensor { return wrap(native.detach(this.handle)); }
}

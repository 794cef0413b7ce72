// Loads the native addon once, with an actionable error, and types its surface.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TorchError } from '../errors.js';

/** Reference to a native libtorch tensor: its slot in the addon's tensor table (a small integer). */
export type NativeHandle = number & { readonly __brand: 'NativeHandle' };
/** Opaque reference to a native libtorch optimizer. */
export type NativeOptimizer = { readonly __brand: 'NativeOptimizer' };
/** Opaque reference to a c10d store and the process group made on it. */
export type NativeProcessGroup = { readonly __brand: 'NativeProcessGroup' };

type H = NativeHandle;
type Num = number | undefined | null;
type Dims = number | number[] | undefined | null;
type Scalar = number | boolean;

/**
 * Every entry of the addon, listed once. NativeBinding below must have exactly these keys (checked
 * by the compiler), and test/binding/op-table.test.ts checks that the loaded addon exports exactly
 * these names and that each is called by a wrapper or listed in RAW_NATIVE_OPS.
 */
export const NATIVE_OPS = [
  // tensor.cc
  'fromData', 'toData', 'toDataAsync', 'item', 'shape', 'strides', 'dtype', 'device', 'isContiguous', 'free',
  'liveCount', 'zeros', 'ones', 'full', 'empty', 'arange', 'linspace', 'eye', 'rand', 'randn', 'randint',
  'randperm', 'manualSeed', 'getRngState', 'setRngState', 'freeMany',
  // ops_math.cc (tensor and scalar forms: the scalar ones skip wrapping a number in a tensor)
  'add', 'sub', 'mul', 'div', 'pow', 'remainder', 'rsub', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maximum',
  'addScalar', 'subScalar', 'mulScalar', 'divScalar', 'powScalar', 'remainderScalar', 'eqScalar', 'neScalar',
  'ltScalar', 'leScalar', 'gtScalar', 'geScalar', 'addScalar_', 'mulScalar_',
  'minimum', 'atan2', 'logicalAnd', 'logicalOr', 'logicalXor', 'logicalNot', 'neg', 'abs', 'exp', 'log',
  'log1p', 'expm1', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'sign', 'floor', 'ceil', 'round', 'cos', 'sin',
  'tan', 'acos', 'asin', 'atan', 'erf', 'isnan', 'isfinite', 'clamp', 'where', 'maskedFill', 'copy_',
  'fill_', 'zero_', 'add_', 'mul_', 'sum', 'mean', 'prod', 'cumsum', 'max', 'min', 'amax', 'amin', 'argmax',
  'argmin', 'norm', 'var', 'std', 'logsumexp', 'median', 'any', 'all', 'matmul', 'mm', 'bmm', 'outer',
  'linalgInv', 'linalgEigh', 'topk', 'sort', 'argsort',
  // ops_shape.cc
  'reshape', 'view', 'permute', 'transpose', 'contiguous', 'narrow', 'slice', 'select', 'indexSelect',
  'gather', 'scatter', 'scatterScalar', 'scatterAdd', 'indexAdd', 'maskedSelect', 'nonzero', 'cat', 'stack', 'split', 'chunk',
  'expand', 'repeat', 'squeeze', 'unsqueeze', 'flatten', 'flip', 'roll', 'tril', 'triu', 'diag', 'clone',
  'cloneChannelsLast', 'toDtype', 'toDevice', 'oneHot', 'pad',
  // ops_nn.cc
  'conv2d', 'convTranspose2d', 'linear', 'batchNorm', 'layerNorm', 'maxPool2d', 'avgPool2d',
  'adaptiveAvgPool2d', 'upsample', 'relu', 'relu6', 'relu_', 'relu6_', 'sigmoid', 'tanh', 'silu',
  'hardswish', 'gelu', 'leakyRelu', 'softmax', 'logSoftmax', 'dropout', 'crossEntropy', 'nllLoss', 'mseLoss',
  'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'normalize', 'cdist', 'cosineSimilarity',
  // autograd.cc
  'backward', 'grad', 'clearGrad', 'setRequiresGrad', 'requiresGrad', 'isLeaf', 'detach', 'isGradEnabled',
  'setGradEnabled',
  // optim.cc
  'createOptimizer', 'optimizerStep', 'optimizerZeroGrad', 'optimizerSetLr', 'optimizerGetLr',
  'optimizerStateTensors', 'optimizerLoadStateTensors', 'optimizerFree',
  // runtime.cc
  'setNumThreads', 'getNumThreads', 'setInteropThreads', 'cudaAvailable', 'cudaDeviceCount', 'torchVersion',
  'parallelInfo', 'mallocInfo', 'buildConfig', 'profilerStart', 'profilerStop',
  // jpeg_decode.cc
  'decodeJpegRgb', 'hasJpegFastPath',
  // distributed.cc
  'distSupport', 'distConnect', 'distCreateGroup', 'distRank', 'distWorldSize', 'distStoreSet', 'distStoreTryGet',
  'distStoreAdd', 'distHeartbeats', 'distHeartbeatError', 'distAllreduce', 'distAllreduceGrads', 'distBroadcast',
  'distBarrier', 'distClose',
] as const;

export type NativeOpName = (typeof NATIVE_OPS)[number];

/** The typed signature of every entry in NATIVE_OPS. */
/** One parameter's optimizer state as plain tensors (Adam: exp_avg, exp_avg_sq[, max_exp_avg_sq]; SGD: momentum_buffer). */
export interface NativeOptimizerState {
  index: number;
  step: number;
  tensors: Record<string, NativeHandle>;
}

export interface NativeBinding {
  // tensor.cc
  fromData(data: ArrayBufferView, dtype: string, shape: number[], device?: string): H;
  toData(t: H): ArrayBuffer;
  toDataAsync(t: H): Promise<ArrayBuffer>;
  item(t: H): number | boolean;
  shape(t: H): number[];
  strides(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  isContiguous(t: H, format: string): boolean;
  free(t: H): void;
  freeMany(ts: Int32Array, count: number): void;
  liveCount(): number;
  zeros(shape: number[], dtype?: string, device?: string): H;
  ones(shape: number[], dtype?: string, device?: string): H;
  full(shape: number[], value: Scalar, dtype?: string, device?: string): H;
  empty(shape: number[], dtype?: string, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): H;
  linspace(start: number, end: number, steps: number, dtype?: string, device?: string): H;
  eye(n: number, m: number, dtype?: string, device?: string): H;
  rand(shape: number[], dtype?: string, device?: string): H;
  randn(shape: number[], dtype?: string, device?: string): H;
  randint(low: number, high: number, shape: number[], dtype?: string, device?: string): H;
  randperm(n: number, dtype?: string, device?: string): H;
  manualSeed(seed: number): void;
  getRngState(): H;
  setRngState(state: H): void;
  // ops_math.cc
  add(a: H, b: H, alpha?: number): H;
  addScalar(a: H, b: Scalar, alpha?: number): H;
  sub(a: H, b: H, alpha?: number): H;
  subScalar(a: H, b: Scalar, alpha?: number): H;
  mul(a: H, b: H): H;
  mulScalar(a: H, b: Scalar): H;
  div(a: H, b: H): H;
  divScalar(a: H, b: Scalar): H;
  pow(a: H, b: H): H;
  powScalar(a: H, b: Scalar): H;
  remainder(a: H, b: H): H;
  remainderScalar(a: H, b: Scalar): H;
  rsub(a: H, b: number): H;
  eq(a: H, b: H): H;
  eqScalar(a: H, b: Scalar): H;
  ne(a: H, b: H): H;
  neScalar(a: H, b: Scalar): H;
  lt(a: H, b: H): H;
  ltScalar(a: H, b: Scalar): H;
  le(a: H, b: H): H;
  leScalar(a: H, b: Scalar): H;
  gt(a: H, b: H): H;
  gtScalar(a: H, b: Scalar): H;
  ge(a: H, b: H): H;
  geScalar(a: H, b: Scalar): H;
  maximum(a: H, b: H): H;
  minimum(a: H, b: H): H;
  atan2(a: H, b: H): H;
  logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H;
  logicalXor(a: H, b: H): H;
  logicalNot(a: H): H;
  neg(a: H): H;
  abs(a: H): H;
  exp(a: H): H;
  log(a: H): H;
  log1p(a: H): H;
  expm1(a: H): H;
  sqrt(a: H): H;
  rsqrt(a: H): H;
  square(a: H): H;
  reciprocal(a: H): H;
  sign(a: H): H;
  floor(a: H): H;
  ceil(a: H): H;
  round(a: H): H;
  cos(a: H): H;
  sin(a: H): H;
  tan(a: H): H;
  acos(a: H): H;
  asin(a: H): H;
  atan(a: H): H;
  erf(a: H): H;
  isnan(a: H): H;
  isfinite(a: H): H;
  clamp(a: H, min: Num, max: Num): H;
  where(cond: H, a: H, b: H): H;
  maskedFill(a: H, mask: H, value: Scalar): H;
  copy_(dst: H, src: H): void;
  fill_(t: H, value: Scalar): void;
  zero_(t: H): void;
  add_(t: H, other: H, alpha?: number): void;
  addScalar_(t: H, other: Scalar, alpha?: number): void;
  mul_(t: H, other: H): void;
  mulScalar_(t: H, other: Scalar): void;
  sum(t: H, dims: Dims, keepdim: boolean, dtype?: string): H;
  mean(t: H, dims: Dims, keepdim: boolean, dtype?: string): H;
  prod(t: H, dim: Num, keepdim: boolean): H;
  cumsum(t: H, dim: number): H;
  max(t: H): H;
  max(t: H, dim: number, keepdim: boolean): [H, H];
  min(t: H): H;
  min(t: H, dim: number, keepdim: boolean): [H, H];
  amax(t: H, dims: Dims, keepdim: boolean): H;
  amin(t: H, dims: Dims, keepdim: boolean): H;
  argmax(t: H, dim: Num, keepdim: boolean): H;
  argmin(t: H, dim: Num, keepdim: boolean): H;
  norm(t: H, p: number, dims: Dims, keepdim: boolean): H;
  var(t: H, dims: Dims, correction: number, keepdim: boolean): H;
  std(t: H, dims: Dims, correction: number, keepdim: boolean): H;
  logsumexp(t: H, dims: Dims, keepdim: boolean): H;
  median(t: H): H;
  median(t: H, dim: number, keepdim: boolean): [H, H];
  any(t: H, dim?: Num, keepdim?: boolean): H;
  all(t: H, dim?: Num, keepdim?: boolean): H;
  matmul(a: H, b: H): H;
  mm(a: H, b: H): H;
  bmm(a: H, b: H): H;
  outer(a: H, b: H): H;
  linalgInv(a: H): H;
  linalgEigh(a: H): [H, H];
  topk(t: H, k: number, dim: number, largest: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean, stable: boolean): [H, H];
  argsort(t: H, dim: number, descending: boolean): H;
  // ops_shape.cc
  reshape(t: H, shape: number[]): H;
  view(t: H, shape: number[]): H;
  permute(t: H, dims: number[]): H;
  transpose(t: H, a: number, b: number): H;
  contiguous(t: H, format: string): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  slice(t: H, dim: number, start: Num, end: Num, step: number): H;
  select(t: H, dim: number, index: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  scatter(t: H, dim: number, index: H, src: H): H;
  scatterScalar(t: H, dim: number, index: H, src: Scalar): H;
  scatterAdd(t: H, dim: number, index: H, src: H): H;
  indexAdd(t: H, dim: number, index: H, src: H): H;
  maskedSelect(t: H, mask: H): H;
  nonzero(t: H): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  split(t: H, sizeOrSizes: number | number[], dim: number): H[];
  chunk(t: H, chunks: number, dim: number): H[];
  expand(t: H, shape: number[]): H;
  repeat(t: H, reps: number[]): H;
  squeeze(t: H, dim?: number): H;
  unsqueeze(t: H, dim: number): H;
  flatten(t: H, start: number, end: number): H;
  flip(t: H, dims: number[]): H;
  roll(t: H, shifts: number[], dims: number[]): H;
  tril(t: H, diagonal: number): H;
  triu(t: H, diagonal: number): H;
  diag(t: H, diagonal: number): H;
  clone(t: H): H;
  cloneChannelsLast(t: H): H;
  toDtype(t: H, dtype: string): H;
  toDevice(t: H, device: string): H;
  oneHot(t: H, numClasses: number): H;
  pad(t: H, pads: number[], value: number): H;
  // ops_nn.cc
  conv2d(x: H, w: H, b: H | undefined, stride: number | number[], padding: number | number[] | string, dilation: number | number[], groups: number): H;
  convTranspose2d(x: H, w: H, b: H | undefined, stride: number[], padding: number[], outputPadding: number[], groups: number, dilation: number[]): H;
  linear(x: H, w: H, b?: H): H;
  batchNorm(x: H, weight: H | undefined, bias: H | undefined, runningMean: H | undefined, runningVar: H | undefined,
    training: boolean, momentum: number, eps: number): H;
  layerNorm(x: H, shape: number[], weight: H | undefined, bias: H | undefined, eps: number): H;
  maxPool2d(x: H, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): H;
  avgPool2d(x: H, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): H;
  adaptiveAvgPool2d(x: H, size: number[]): H;
  upsample(x: H, size: number[], mode: string, alignCorners: boolean): H;
  relu(x: H): H;
  relu6(x: H): H;
  relu_(x: H): void;
  relu6_(x: H): void;
  sigmoid(x: H): H;
  tanh(x: H): H;
  silu(x: H): H;
  hardswish(x: H): H;
  gelu(x: H, approximate?: string): H;
  leakyRelu(x: H, slope: number): H;
  softmax(x: H, dim: number): H;
  logSoftmax(x: H, dim: number): H;
  dropout(x: H, p: number, training: boolean): H;
  crossEntropy(logits: H, target: H, weight: H | undefined, reduction: string, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(logp: H, target: H, weight: H | undefined, reduction: string, ignoreIndex: number): H;
  mseLoss(a: H, b: H, reduction: string): H;
  binaryCrossEntropy(p: H, target: H, weight: H | undefined, reduction: string): H;
  binaryCrossEntropyWithLogits(logits: H, target: H, weight: H | undefined, posWeight: H | undefined, reduction: string): H;
  normalize(x: H, p: number, dim: number, eps: number): H;
  cdist(a: H, b: H, p: number): H;
  cosineSimilarity(a: H, b: H, dim: number, eps: number): H;
  // autograd.cc
  backward(t: H, grad: H | undefined, retainGraph: boolean): void;
  grad(t: H): H | null;
  clearGrad(t: H): void;
  setRequiresGrad(t: H, value: boolean): void;
  requiresGrad(t: H): boolean;
  isLeaf(t: H): boolean;
  detach(t: H): H;
  isGradEnabled(): boolean;
  setGradEnabled(value: boolean): void;
  // optim.cc
  createOptimizer(kind: string, params: H[], options: Record<string, number | boolean>): NativeOptimizer;
  optimizerStep(o: NativeOptimizer): void;
  optimizerZeroGrad(o: NativeOptimizer): void;
  optimizerSetLr(o: NativeOptimizer, lr: number): void;
  optimizerGetLr(o: NativeOptimizer): number;
  /** Copies of each parameter's optimizer state (index into the parameters, step count, named tensors). */
  optimizerStateTensors(o: NativeOptimizer): NativeOptimizerState[];
  /** Replaces the optimizer state after checking every entry against the parameters. */
  optimizerLoadStateTensors(o: NativeOptimizer, state: NativeOptimizerState[]): void;
  optimizerFree(o: NativeOptimizer): void;
  // runtime.cc
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setInteropThreads(n: number): void;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  torchVersion(): string;
  parallelInfo(): string;
  mallocInfo(): string;
  decodeJpegRgb(data: Buffer, width: number, height: number, maxPixels: number): Promise<{ pixels: Buffer; width: number; height: number } | null>;
  hasJpegFastPath(): boolean;
  buildConfig(): string;
  profilerStart(tracePath: string): void;
  profilerStop(): void;
  // distributed.cc
  distSupport(): { gloo: boolean; nccl: boolean; reason: string };
  distConnect(options: { store: 'tcp' | 'file'; host?: string; port?: number; path?: string; rank: number; worldSize: number; timeoutMs: number }): NativeProcessGroup;
  distCreateGroup(g: NativeProcessGroup, options: { backend: 'gloo' | 'nccl'; iface?: string; hostname?: string; threads?: number; heartbeatMs?: number }): void;
  distRank(g: NativeProcessGroup): number;
  distWorldSize(g: NativeProcessGroup): number;
  distStoreSet(g: NativeProcessGroup, key: string, value: string): void;
  distStoreTryGet(g: NativeProcessGroup, key: string): string | null;
  distStoreAdd(g: NativeProcessGroup, key: string, delta: number): number;
  distHeartbeats(g: NativeProcessGroup): number[];
  distHeartbeatError(g: NativeProcessGroup): string | null;
  distAllreduce(g: NativeProcessGroup, buckets: H[][], op: 'sum' | 'avg' | 'max' | 'min', extra?: number[]): number[];
  distAllreduceGrads(g: NativeProcessGroup, buckets: H[][], extra?: number[]): number[];
  distBroadcast(g: NativeProcessGroup, buckets: H[][], root: number): void;
  distBarrier(g: NativeProcessGroup): void;
  distClose(g: NativeProcessGroup): void;
}

// NativeBinding and NATIVE_OPS must name the same entries: an op added to one and not the other
// fails to compile here, naming the odd keys.
type KeyMismatch<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true
  : { inInterfaceOnly: Exclude<A, B>; inListOnly: Exclude<B, A> };
const opListMatchesInterface: KeyMismatch<keyof NativeBinding, NativeOpName> = true;
void opListMatchesInterface;

/**
 * Entries no wrapper in src calls, on purpose: reached only through `native` directly (tests,
 * benchmarks, tools). Every other entry must be called as native.<name> somewhere in src.
 */
export const RAW_NATIVE_OPS: readonly NativeOpName[] = [
  'empty', // uninitialised memory: the creation functions use zeros so no garbage value can leak
  'setInteropThreads', // libtorch accepts it only before any inter-op work starts; no wrapper yet
  // ProcessGroup keeps rank and world size from its own options; these read them back from the native
  // group, and distHeartbeatError the heartbeat thread's failure, for debugging (no wrapper calls them).
  'distRank', 'distWorldSize', 'distHeartbeatError',
];

/**
 * The addon with each entry wrapped so that its errors become TorchErrors (naming the op), also
 * for the promises of async entries. Arguments pass through unchanged, count included: some
 * entries read optional arguments by position.
 */
function withTorchErrors(raw: NativeBinding): NativeBinding {
  const wrapped: Record<string, unknown> = {};
  for (const name of Object.keys(raw)) {
    const fn = (raw as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
    if (typeof fn !== 'function') {
      wrapped[name] = fn;
      continue;
    }
    wrapped[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = fn(...args);
      } catch (error) {
        throw TorchError.fromNative(name, error);
      }
      if (result instanceof Promise) return result.catch((error: unknown) => { throw TorchError.fromNative(name, error); });
      return result;
    };
  }
  return wrapped as unknown as NativeBinding;
}

function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/binding → repository root is three levels up; src/binding (ts-node style) two.
  for (const up of ['../../..', '../..']) {
    const candidate = join(here, up, 'native', 'build', 'Release', 'deepmetric.node');
    if (existsSync(candidate)) return candidate;
  }
  return join(here, '../../..', 'native', 'build', 'Release', 'deepmetric.node');
}

/** The environment variables deepmetric set when it loaded (child processes inherit them). */
export const envSetAtLoad: Record<string, string> = {};

/**
 * OpenBLAS (Debian's libtorch does its matrix products with the pthread build) keeps its worker
 * threads spinning ~0.1 s after each product by default. In a training step that is the whole
 * backward pass after the classifier's matmul: the spinning threads take the cores from libtorch's
 * OpenMP threads and the step runs ~1.3x slower (docs/performance.md). Told before the library
 * loads, they spin 2^16 cycles (~25 µs) and then sleep; large products keep all their threads.
 * A value the user set is kept.
 */
function quietBlasThreads(): void {
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined && process.env.GOTO_THREAD_TIMEOUT === undefined) {
    process.env.OPENBLAS_THREAD_TIMEOUT = '16';
    envSetAtLoad.OPENBLAS_THREAD_TIMEOUT = '16';
  }
}

function load(): NativeBinding {
  quietBlasThreads();
  const path = addonPath();
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeBinding;
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new Error(
      `deepmetric: could not load the native addon at ${path}.\n` +
        `Cause: ${cause}\n` +
        'Build it with `npm run build:native` after installing libtorch ' +
        '(`sudo apt-get install -y libtorch-dev libopenblas0-pthread`, or set LIBTORCH to an unpacked libtorch folder).',
    );
  }
}

/** Threads for libtorch's intra-op pool: DEEPMETRIC_NUM_THREADS, else every available core. */
export function defaultThreadCount(): number {
  const fromEnv = process.env.DEEPMETRIC_NUM_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`Expected a positive integer for DEEPMETRIC_NUM_THREADS but received '${fromEnv}'`);
    }
    return n;
  }
  return availableParallelism();
}

export const native: NativeBinding = withTorchErrors(load());
// libtorch starts with one intra-op thread on these machines; use the cores we have.
native.setNumThreads(defaultThreadCount());

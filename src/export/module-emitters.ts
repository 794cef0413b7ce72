// Module emitters: each turns one kind of module, in eval mode, into ONNX nodes. The exporter walks
// a model from its root; a module whose class (or nearest registered ancestor class) has no
// emitter is an error naming its path and class. Backbones added later register theirs with
// registerOnnxEmitter.
import { Module } from '../nn/module.js';
import { Sequential, Residual } from '../nn/containers.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import { Linear } from '../nn/linear.js';
import { Dropout, Lambda, ZeroPad2d } from '../nn/simple-layers.js';
import { FoldedBatchNorm, foldedConvParameters } from '../nn/fuse.js';
import { pair } from '../tensor/checks.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { EmbeddingNet } from '../models/embedding-net.js';
import { MobileNetV2, InvertedResidual } from '../models/mobilenet-v2.js';
import { ResNet18Cifar, BasicBlock } from '../models/resnet-cifar.js';
import { SmallConvNet } from '../models/small-convnet.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { TorchvisionMobileNetV2, InvertedResidual as TorchvisionInvertedResidual } from '../models/torchvision-mobilenet-v2.js';
import { TorchvisionResNet, BasicBlock as TorchvisionBasicBlock, Bottleneck as TorchvisionBottleneck } from '../models/torchvision-resnet.js';
import type { OnnxGraph } from './onnx-graph.js';

export interface EmitContext {
  readonly graph: OnnxGraph;
  /** Emits module m (at dotted path) applied to value x; returns its output value. */
  emit(m: Module, x: string, path: string): string;
  /** Emits a registered child of parent, naming its weights by the child's state-dict path. */
  emitChild(parent: Module, parentPath: string, child: Module, x: string): string;
}

/** Emits the nodes computing m(x) in eval mode and returns the output value's name. */
export type ModuleEmitter<M extends Module = Module> = (m: M, x: string, path: string, ctx: EmitContext) => string;

type ModuleClass<M extends Module> = abstract new (...args: never[]) => M;

const EMITTERS = new Map<unknown, ModuleEmitter>();

/** Registers how modules of a class are written to ONNX (subclasses inherit it unless they register their own). */
export function registerOnnxEmitter<M extends Module>(cls: ModuleClass<M>, emit: ModuleEmitter<M>): void {
  EMITTERS.set(cls, emit as ModuleEmitter);
}

/** The emitter of m's class or its nearest ancestor class with one. */
export function findOnnxEmitter(m: Module): ModuleEmitter | undefined {
  for (let c = m.constructor; c && c !== Module; c = Object.getPrototypeOf(c)) {
    const e = EMITTERS.get(c);
    if (e) return e;
  }
  return undefined;
}

export const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

/** ONNX Conv pads [top, left, bottom, right] from a Conv2d's padding setting. */
export function onnxConvPads(conv: Conv2d): number[] {
  const { padding, kernelSize: k, dilation: d } = conv.config;
  if (padding === 'same') {
    // libtorch's 'same' (stride 1): the odd extra pixel goes after.
    const total = k.map((n, i) => d[i] * (n - 1));
    const before = total.map((t) => Math.floor(t / 2));
    return [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  }
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  if (padding.length === 4) {
    const [left, right, top, bottom] = padding;
    return [top, left, bottom, right];
  }
  const [h, w] = pair(padding, 'padding');
  return [h, w, h, w];
}

function emitConv(conv: Conv2d, x: string, path: string, g: OnnxGraph, params: { weight: Tensor; bias: Tensor | null } = conv): string {
  const c = conv.config;
  const inputs = [x, g.weight(join(path, 'weight'), params.weight)];
  if (params.bias) inputs.push(g.weight(join(path, 'bias'), params.bias));
  return g.node('Conv', inputs, {
    kernel_shape: c.kernelSize, strides: c.stride, dilations: c.dilation, group: c.groups, pads: onnxConvPads(conv),
  }, join(path, 'conv'));
}

/** Eval-mode BatchNorm as x·scale + shift, per channel (dim 1) of any rank. */
function emitBatchNorm(bn: BatchNorm1d | BatchNorm2d, x: string, path: string, g: OnnxGraph, rank: number): string {
  const { scale, shift } = noGrad(() => tidy(() => {
    const s = bn.runningVar.add(bn.eps).rsqrt().mul(bn.weight ?? 1);
    const t = bn.runningMean.mul(s).neg().add(bn.bias ?? 0);
    const shape = [-1, ...Array(rank - 2).fill(1)];
    return { scale: s.reshape(...shape), shift: t.reshape(...shape) };
  }));
  try {
    const scaled = g.node('Mul', [x, g.weight(join(path, 'scale'), scale)], {}, join(path, 'mul'));
    return g.node('Add', [scaled, g.weight(join(path, 'shift'), shift)], {}, join(path, 'add'));
  } finally {
    scale.dispose();
    shift.dispose();
  }
}

function emitLinear(fc: Linear, x: string, path: string, g: OnnxGraph): string {
  const inputs = [x, g.weight(join(path, 'weight'), fc.weight)];
  if (fc.bias) inputs.push(g.weight(join(path, 'bias'), fc.bias));
  return g.node('Gemm', inputs, { transB: 1 }, join(path, 'gemm'));
}

/** [N,C,H,W] → [N,C]: the mean over the spatial dims, as globalAvgPool2d. */
export function emitGlobalAvgPool(x: string, path: string, g: OnnxGraph): string {
  return g.node('Flatten', [g.node('GlobalAveragePool', [x], {}, join(path, 'pool'))], { axis: 1 }, join(path, 'flatten'));
}

/** The parameter-free layers made with Lambda, by name. */
const LAMBDAS: Record<string, (x: string, path: string, g: OnnxGraph, o: Readonly<Record<string, number>>) => string> = {
  ReLU: (x, p, g) => g.node('Relu', [x], {}, join(p, 'relu')),
  ReLU6: (x, p, g) => g.node('Clip', [x, g.constant([0], 'float32'), g.constant([6], 'float32')], {}, join(p, 'relu6')),
  Sigmoid: (x, p, g) => g.node('Sigmoid', [x], {}, join(p, 'sigmoid')),
  Tanh: (x, p, g) => g.node('Tanh', [x], {}, join(p, 'tanh')),
  SiLU: (x, p, g) => g.node('Mul', [x, g.node('Sigmoid', [x], {}, join(p, 'sigmoid'))], {}, join(p, 'silu')),
  // Exact GELU, x·Φ(x) = x·(1 + erf(x/√2))/2 (opset 17 has no Gelu op).
  GELU: (x, p, g) => {
    const erf = g.node('Erf', [g.node('Mul', [x, g.constant([Math.SQRT1_2], 'float32')], {}, join(p, 'scaled'))], {}, join(p, 'erf'));
    const half = g.node('Mul', [x, g.constant([0.5], 'float32')], {}, join(p, 'half'));
    return g.node('Mul', [half, g.node('Add', [erf, g.constant([1], 'float32')], {}, join(p, 'one_plus'))], {}, join(p, 'gelu'));
  },
  Hardswish: (x, p, g) => g.node('HardSwish', [x], {}, join(p, 'hardswish')),
  LeakyReLU: (x, p, g, o) => g.node('LeakyRelu', [x], { alpha: { float: o.slope } }, join(p, 'leaky_relu')),
  GlobalAvgPool2d: (x, p, g) => emitGlobalAvgPool(x, p, g),
  Flatten: (x, p, g) => g.node('Flatten', [x], { axis: 1 }, join(p, 'flatten')),
  MaxPool2d: (x, p, g, o) => g.node('MaxPool', [x], {
    kernel_shape: [o.kernel, o.kernel], strides: [o.stride, o.stride], pads: [o.padding, o.padding, o.padding, o.padding],
  }, join(p, 'maxpool')),
  AvgPool2d: (x, p, g, o) => g.node('AveragePool', [x], { kernel_shape: [o.kernel, o.kernel], strides: [o.stride, o.stride] }, join(p, 'avgpool')),
};

registerOnnxEmitter(Lambda, (m, x, path, ctx) => {
  const emit = Object.hasOwn(LAMBDAS, m.name) ? LAMBDAS[m.name] : undefined;
  if (!emit) throw new Error(`onnx export: no ONNX form for the layer '${m.name}' at ${path || 'the root'}; supported: ${Object.keys(LAMBDAS).join(', ')}`);
  return emit(x, path, ctx.graph, m.options);
});

registerOnnxEmitter(Sequential, (m, x, path, ctx) => {
  let h = x;
  for (let i = 0; i < m.layers.length; i++) {
    const layer = m.layers[i];
    const next = m.layers[i + 1];
    if (layer instanceof Conv2d && next instanceof BatchNorm2d) {
      // BatchNorm folded into the convolution before it (as fuseConvBatchNorm does).
      const folded = foldedConvParameters(layer, next);
      try {
        h = emitConv(layer, h, join(path, String(i)), ctx.graph, folded);
      } finally {
        folded.weight.dispose();
        folded.bias.dispose();
      }
      i++;
      continue;
    }
    h = ctx.emit(layer, h, join(path, String(i)));
  }
  return h;
});

registerOnnxEmitter(Conv2d, (m, x, path, ctx) => emitConv(m, x, path, ctx.graph));
registerOnnxEmitter(BatchNorm2d, (m, x, path, ctx) => emitBatchNorm(m, x, path, ctx.graph, 4));
registerOnnxEmitter(BatchNorm1d, (m, x, path, ctx) => emitBatchNorm(m, x, path, ctx.graph, 2));
registerOnnxEmitter(FoldedBatchNorm, (_m, x) => x);
registerOnnxEmitter(Dropout, (_m, x) => x);
registerOnnxEmitter(Linear, (m, x, path, ctx) => emitLinear(m, x, path, ctx.graph));

registerOnnxEmitter(ConvTranspose2d, (m, x, path, ctx) => {
  const c = m.config;
  const g = ctx.graph;
  const [ph, pw] = pair(c.padding ?? 0, 'padding');
  const inputs = [x, g.weight(join(path, 'weight'), m.weight)];
  if (m.bias) inputs.push(g.weight(join(path, 'bias'), m.bias));
  return g.node('ConvTranspose', inputs, {
    kernel_shape: pair(c.kernelSize, 'kernelSize'), strides: pair(c.stride ?? 1, 'stride'), pads: [ph, pw, ph, pw],
    output_padding: pair(c.outputPadding ?? 0, 'outputPadding'),
  }, join(path, 'conv_transpose'));
});

registerOnnxEmitter(ZeroPad2d, (m, x, path, ctx) => {
  const [left, right, top, bottom] = m.pads;
  return ctx.graph.node('Pad', [x, ctx.graph.constant([0, 0, top, left, 0, 0, bottom, right], 'int64')], { mode: 'constant' }, join(path, 'pad'));
});

registerOnnxEmitter(Residual, (m, x, path, ctx) => ctx.graph.node('Add', [x, ctx.emitChild(m, path, m.body, x)], {}, join(path, 'add')));

registerOnnxEmitter(EmbeddingNet, (m, x, path, ctx) => {
  const pooled = emitGlobalAvgPool(ctx.emitChild(m, path, m.backbone, x), join(path, 'pool'), ctx.graph);
  return m.projection ? ctx.emitChild(m, path, m.projection, pooled) : pooled;
});

registerOnnxEmitter(MobileNetV2, (m, x, path, ctx) => {
  const features = ctx.emitChild(m, path, m.features, x);
  return m.classifier ? ctx.emitChild(m, path, m.classifier, emitGlobalAvgPool(features, join(path, 'pool'), ctx.graph)) : features;
});

registerOnnxEmitter(InvertedResidual, (m, x, path, ctx) => {
  const y = ctx.emitChild(m, path, m.body, x);
  return m.useResidual ? ctx.graph.node('Add', [x, y], {}, join(path, 'add')) : y;
});

registerOnnxEmitter(BasicBlock, (m, x, path, ctx) => {
  const body = ctx.emitChild(m, path, m.body, x);
  const skip = m.shortcut ? ctx.emitChild(m, path, m.shortcut, x) : x;
  return ctx.graph.node('Relu', [ctx.graph.node('Add', [body, skip], {}, join(path, 'add'))], {}, join(path, 'relu'));
});

registerOnnxEmitter(ResNet18Cifar, (m, x, path, ctx) => ctx.emitChild(m, path, m.features, x));
registerOnnxEmitter(SmallConvNet, (m, x, path, ctx) => ctx.emitChild(m, path, m.features, x));
registerOnnxEmitter(ConvAutoencoder, (m, x, path, ctx) => ctx.emitChild(m, path, m.decoder, ctx.emitChild(m, path, m.encoder, x)));

// torchvision's backbones: the same graph as their forward(), module by module.
registerOnnxEmitter(TorchvisionMobileNetV2, (m, x, path, ctx) => {
  const features = ctx.emitChild(m, path, m.features, x);
  return m.classifier ? ctx.emitChild(m, path, m.classifier, emitGlobalAvgPool(features, join(path, 'pool'), ctx.graph)) : features;
});

registerOnnxEmitter(TorchvisionInvertedResidual, (m, x, path, ctx) => {
  const y = ctx.emitChild(m, path, m.conv, x);
  return m.useResidual ? ctx.graph.node('Add', [y, x], {}, join(path, 'add')) : y;
});

const relu = (g: OnnxGraph, x: string, path: string): string => g.node('Relu', [x], {}, path);

registerOnnxEmitter(TorchvisionResNet, (m, x, path, ctx) => {
  const stem = relu(ctx.graph, ctx.emitChild(m, path, m.bn1, ctx.emitChild(m, path, m.conv1, x)), join(path, 'relu'));
  let h = LAMBDAS.MaxPool2d(stem, path, ctx.graph, { kernel: 3, stride: 2, padding: 1 });
  for (const layer of m.layers) h = ctx.emitChild(m, path, layer, h);
  return m.fc ? ctx.emitChild(m, path, m.fc, emitGlobalAvgPool(h, join(path, 'pool'), ctx.graph)) : h;
});

/** A residual block: conv/bn pairs with ReLU between them, then the skip (downsampled or not) and a ReLU. */
function emitTorchvisionBlock(m: TorchvisionBasicBlock | TorchvisionBottleneck, pairs: [Module, Module][], x: string, path: string, ctx: EmitContext): string {
  let h = x;
  pairs.forEach(([conv, bn], i) => {
    h = ctx.emitChild(m, path, bn, ctx.emitChild(m, path, conv, h));
    if (i < pairs.length - 1) h = relu(ctx.graph, h, join(path, `relu${i + 1}`));
  });
  const skip = m.downsample ? ctx.emitChild(m, path, m.downsample, x) : x;
  return relu(ctx.graph, ctx.graph.node('Add', [h, skip], {}, join(path, 'add')), join(path, 'relu'));
}

registerOnnxEmitter(TorchvisionBasicBlock, (m, x, path, ctx) => emitTorchvisionBlock(m, [[m.conv1, m.bn1], [m.conv2, m.bn2]], x, path, ctx));
registerOnnxEmitter(TorchvisionBottleneck, (m, x, path, ctx) => emitTorchvisionBlock(m, [[m.conv1, m.bn1], [m.conv2, m.bn2], [m.conv3, m.bn3]], x, path, ctx));

/** An emit context over graph g; unknown modules are errors naming their path and class. */
export function emitContext(g: OnnxGraph): EmitContext {
  const ctx: EmitContext = {
    graph: g,
    emit(m, x, path) {
      const emit = findOnnxEmitter(m);
      if (!emit) {
        throw new Error(`onnx export: no ONNX emitter for ${m.constructor.name} at ${path || 'the root'}; ` +
          'register one with registerOnnxEmitter(Class, (module, input, path, ctx) => output)');
      }
      return emit(m, x, path, ctx);
    },
    emitChild(parent, parentPath, child, x) {
      const entry = parent.children().find(([, c]) => c === child);
      if (!entry) throw new Error(`onnx export: ${child.constructor.name} is not a registered child of ${parent.constructor.name} at ${parentPath || 'the root'}`);
      return ctx.emit(child, x, join(parentPath, entry[0]));
    },
  };
  return ctx;
}

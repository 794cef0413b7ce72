#!/usr/bin/python3
"""Weight files and reference outputs for the pretrained-weights tests (test/weights/), made locally
because no published weights can be downloaded here. Needs Debian's python3-torch,
python3-torchvision, python3-h5py and python3-numpy.

    /usr/bin/python3 scripts/make_pretrained_fixtures.py OUT_DIR [--only torch|keras|views]

Writes into OUT_DIR:
  <arch>.pth                 torch.save(model.state_dict()) of a randomly initialised torchvision
                             mobilenet_v2 / resnet18 / resnet50 whose BatchNorm statistics and affine
                             parameters were perturbed (so that loading them is really tested)
  <arch>.safetensors         the same tensors in the safetensors format
  <arch>.reference.safetensors  input [1,3,64,64], eval-mode logits and pooled features from torchvision
  resnet18-legacy.pth        resnet18 in torch's legacy (non-zip) format
  resnet18-<sha8>.pth        resnet18 named as torchvision names its published files
  views.pth + views.json     tensors that are strided / offset views of shared storages, several dtypes
                             (also views-legacy.pth, and nested.pth: under 'state_dict' with 'module.' keys)
  unsupported-opcode.pth     a checkpoint whose pickle holds a Python set (opcode EMPTY_SET)
  keras_mobilenet_v2_0.35_64.h5   Keras-layout weights (Keras's layer names, HWIO kernels) for
                             MobileNetV2 α=0.35 with a 1000-class 'Logits' top, as in the published files
  keras_mobilenet_v2_0.35_64.reference.safetensors  input NCHW and logits + pooled features from an
                             independent torch re-implementation of keras.applications.MobileNetV2
  keras_missing_layer.h5     the same file without the layer block_5_project
"""
import hashlib
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

ST_DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.int64: 'I64', torch.int32: 'I32', torch.uint8: 'U8', torch.bool: 'BOOL'}


def save_safetensors(path, tensors):
    """The safetensors format written by hand (python3-safetensors is not packaged in Debian 12)."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def perturb_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(1234)


def pooled_features(arch, model, x):
    if arch == 'mobilenet_v2':
        return F.adaptive_avg_pool2d(model.features(x), 1).flatten(1)
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        h = layer(h)
    return model.avgpool(h).flatten(1)


def make_torchvision(out):
    for i, arch in enumerate(['mobilenet_v2', 'resnet18', 'resnet50']):
        torch.manual_seed(100 + i)
        gen = torch.Generator().manual_seed(200 + i)
        model = getattr(torchvision.models, arch)(weights=None)
        perturb_batchnorm(model, gen)
        model.eval()
        x = torch.randn(1, 3, 64, 64, generator=gen)
        with torch.no_grad():
            logits = model(x)
            pooled = pooled_features(arch, model, x)
        state = model.state_dict()
        torch.save(state, os.path.join(out, f'{arch}.pth'))
        save_safetensors(os.path.join(out, f'{arch}.safetensors'), state)
        save_safetensors(os.path.join(out, f'{arch}.reference.safetensors'), {'input': x, 'logits': logits, 'pooled': pooled})
        if arch == 'resnet18':
            torch.save(state, os.path.join(out, 'resnet18-legacy.pth'), _use_new_zipfile_serialization=False)
            with open(os.path.join(out, 'resnet18.pth'), 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            shutil.copyfile(os.path.join(out, 'resnet18.pth'), os.path.join(out, f'resnet18-{digest[:8]}.pth'))


def make_views(out):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    tensors = {
        'base': base,
        'rows': base[1:3],          # storage offset 6
        'transposed': base.t(),     # strides (1, 6)
        'every_other': base[:, 1::2],
        'half': base.half(),
        'double': base.double()[2:, :4],
        'bfloat16': base.bfloat16()[::2],
        'long': torch.arange(-3, 5, dtype=torch.int64),
        'int8': torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        'bool': torch.tensor([True, False, True]),
        'scalar': torch.tensor(2.5),
    }
    torch.save(tensors, os.path.join(out, 'views.pth'))
    torch.save(tensors, os.path.join(out, 'views-legacy.pth'), _use_new_zipfile_serialization=False)
    expected = {k: {'shape': list(t.shape), 'values': t.float().flatten().tolist() if t.dtype != torch.bool else t.int().tolist()} for k, t in tensors.items()}
    with open(os.path.join(out, 'views.json'), 'w') as f:
        json.dump(expected, f)
    torch.save({'weight': torch.zeros(2), 'extra': {1, 2}}, os.path.join(out, 'unsupported-opcode.pth'), pickle_protocol=4)
    # A training script's checkpoint: the state_dict nested, under nn.DataParallel's 'module.' prefix.
    torch.save({'epoch': 3, 'best_acc': 0.5, 'state_dict': {f'module.{k}': t for k, t in tensors.items()}}, os.path.join(out, 'nested.pth'))


def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


BLOCKS = [(1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1),
          (6, 96, 1), (6, 96, 1), (6, 96, 1), (6, 160, 2), (6, 160, 1), (6, 160, 1), (6, 320, 1)]


def keras_layers(alpha, classes, gen):
    """Keras MobileNetV2's weighted layers, in order, as (name, {weight: numpy array in Keras layout})."""
    def kernel(h, w, i, o):
        return (torch.randn(h, w, i, o, generator=gen) * math.sqrt(2.0 / (h * w * i))).numpy()

    def bn(n):
        return {'gamma': (torch.rand(n, generator=gen) + 0.5).numpy(), 'beta': (torch.randn(n, generator=gen) * 0.1).numpy(),
                'moving_mean': (torch.randn(n, generator=gen) * 0.1).numpy(), 'moving_variance': (torch.rand(n, generator=gen) + 0.5).numpy()}

    layers = []
    c = make_divisible(32 * alpha, 8)
    layers += [('Conv1', {'kernel': kernel(3, 3, 3, c)}), ('bn_Conv1', bn(c))]
    for b, (t, filters, _s) in enumerate(BLOCKS):
        out = make_divisible(int(filters * alpha), 8)
        prefix = f'block_{b}_' if b else 'expanded_conv_'
        hidden = c * t
        if b:
            layers += [(prefix + 'expand', {'kernel': kernel(1, 1, c, hidden)}), (prefix + 'expand_BN', bn(hidden))]
        dw = (torch.randn(3, 3, hidden, 1, generator=gen) * math.sqrt(2.0 / 9)).numpy()
        layers += [(prefix + 'depthwise', {'depthwise_kernel': dw}), (prefix + 'depthwise_BN', bn(hidden))]
        layers += [(prefix + 'project', {'kernel': kernel(1, 1, hidden, out)}), (prefix + 'project_BN', bn(out))]
        c = out
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    layers += [('Conv_1', {'kernel': kernel(1, 1, c, last)}), ('Conv_1_bn', bn(last))]
    layers += [('Logits', {'kernel': (torch.randn(last, classes, generator=gen) * 0.03).numpy(), 'bias': (torch.randn(classes, generator=gen) * 0.1).numpy()})]
    return layers


def keras_reference_forward(W, x, alpha):
    """keras.applications.MobileNetV2 re-implemented in torch ops (NCHW), from Keras's source, on the same weights."""
    def conv(h, name, stride=1, pads=(0, 0, 0, 0)):
        k = torch.from_numpy(W[name]['kernel']).permute(3, 2, 0, 1)
        return F.conv2d(F.pad(h, pads), k, stride=stride)

    def depthwise(h, name, stride):
        k = torch.from_numpy(W[name]['depthwise_kernel']).permute(2, 3, 0, 1)
        if stride == 2:  # ZeroPadding2D(correct_pad) then 'valid'
            adj_h, adj_w = 1 - h.shape[2] % 2, 1 - h.shape[3] % 2
            pads = (1 - adj_w, 1, 1 - adj_h, 1)
        else:  # 'same'
            pads = (1, 1, 1, 1)
        return F.conv2d(F.pad(h, pads), k, stride=stride, groups=k.shape[0])

    def bn(h, name):
        p = {k: torch.from_numpy(v).reshape(1, -1, 1, 1) for k, v in W[name].items()}
        return (h - p['moving_mean']) / torch.sqrt(p['moving_variance'] + 1e-3) * p['gamma'] + p['beta']

    def tf_same(n, k, s):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    top, bottom = tf_same(x.shape[2], 3, 2)
    left, right = tf_same(x.shape[3], 3, 2)
    h = F.relu6(bn(conv(x, 'Conv1', 2, (left, right, top, bottom)), 'bn_Conv1'))
    c = h.shape[1]
    for b, (t, filters, s) in enumerate(BLOCKS):
        out = make_divisible(int(filters * alpha), 8)
        prefix = f'block_{b}_' if b else 'expanded_conv_'
        inp = h
        if b:
            h = F.relu6(bn(conv(h, prefix + 'expand'), prefix + 'expand_BN'))
        h = F.relu6(bn(depthwise(h, prefix + 'depthwise', s), prefix + 'depthwise_BN'))
        h = bn(conv(h, prefix + 'project'), prefix + 'project_BN')
        if c == out and s == 1:
            h = inp + h
        c = out
    h = F.relu6(bn(conv(h, 'Conv_1'), 'Conv_1_bn'))
    pooled = h.mean(dim=(2, 3))
    logits = pooled @ torch.from_numpy(W['Logits']['kernel']) + torch.from_numpy(W['Logits']['bias'])
    return logits, pooled


def write_keras_h5(path, layers, skip=()):
    import h5py
    with h5py.File(path, 'w') as f:
        # Weightless layers are listed too, with no weight names, as Keras's save_weights does.
        names = ['input_1'] + [name for name, _ in layers if name not in skip] + ['out_relu']
        f.attrs['layer_names'] = [n.encode() for n in names]
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.2.4'
        for name in names:
            g = f.create_group(name)
            weights = dict(layers).get(name, {})
            g.attrs['weight_names'] = [f'{name}/{w}:0'.encode() for w in weights] if weights else np.zeros((0,), dtype='S1')
            for w, value in weights.items():
                g.create_dataset(f'{name}/{w}:0', data=value.astype(np.float32))


def make_keras(out):
    alpha, size = 0.35, 64
    gen = torch.Generator().manual_seed(300)
    layers = keras_layers(alpha, 1000, gen)
    W = dict(layers)
    x = torch.randn(1, 3, size, size, generator=gen)
    with torch.no_grad():
        logits, pooled = keras_reference_forward(W, x, alpha)
    write_keras_h5(os.path.join(out, f'keras_mobilenet_v2_{alpha}_{size}.h5'), layers)
    write_keras_h5(os.path.join(out, 'keras_missing_layer.h5'), layers, skip=('block_5_project',))
    save_safetensors(os.path.join(out, f'keras_mobilenet_v2_{alpha}_{size}.reference.safetensors'), {'input': x, 'logits': logits, 'pooled': pooled})


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == '--only' else None
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    if only in (None, 'torch'):
        make_torchvision(out)
    if only in (None, 'views'):
        make_views(out)
    if only in (None, 'keras'):
        make_keras(out)


if __name__ == '__main__':
    main()

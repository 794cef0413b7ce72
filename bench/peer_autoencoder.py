"""PyTorch peer of bench/autoencoder.ts: the same convolutional autoencoder (3 stride-2 conv-BN-ReLU,
3 transposed convs back, sigmoid), Adam lr 1e-3, MSE, batch 128 of the same kind of images, in
channels-last memory. Prints one JSON line: median ms per training step."""
import argparse, json, time
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--steps', type=int, default=20)
p.add_argument('--warmup', type=int, default=3)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--flush-denormal', action='store_true')
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.set_flush_denormal(a.flush_denormal)
torch.manual_seed(0)


def down(i, o):
    return [nn.Conv2d(i, o, 3, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]


def up(i, o, last):
    c = nn.ConvTranspose2d(i, o, 3, 2, 1, 1, bias=last)
    return [c, nn.Sigmoid()] if last else [c, nn.BatchNorm2d(o), nn.ReLU(True)]


m = nn.Sequential(*down(3, 32), *down(32, 64), *down(64, 128), *up(128, 64, False), *up(64, 32, False), *up(32, 3, True)).to(memory_format=torch.channels_last)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
x = (torch.randint(0, 256, (128, 32, 32, 3), dtype=torch.uint8).permute(0, 3, 1, 2).float() / 255)
times = []
for i in range(a.warmup + a.steps):
    t = time.perf_counter()
    opt.zero_grad()
    loss = nn.functional.mse_loss(m(x), x)
    loss.backward()
    opt.step()
    loss.item()
    if i >= a.warmup:
        times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({'median_ms': times[len(times) // 2], 'steps': a.steps, 'threads': a.threads, 'flush_denormal': a.flush_denormal}))

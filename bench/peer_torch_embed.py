#!/usr/bin/python3
"""PyTorch peer for bench/pretrained.ts: embeds N images with a torchvision backbone as a user would
with pretrained weights (eval mode, no grad, channels-last), from uint8 NHWC pixels: scale to [0, 1],
ImageNet mean/std, backbone features, global average pooling. Random weights: speed does not depend
on their values. Needs Debian's python3-torch and python3-torchvision.

Usage: peer_torch_embed.py --model resnet18|mobilenet_v2 [--images 10000] [--size 224] [--batch 64]
                           [--pool 500] [--threads N] [--warmup 2]
Prints one JSON line: seconds for the N images (after warm-up batches) and images/s.
"""
import argparse, json, os, time
import torch, torchvision

p = argparse.ArgumentParser()
p.add_argument("--model", required=True, choices=["resnet18", "mobilenet_v2", "resnet50"])
p.add_argument("--images", type=int, default=10000)
p.add_argument("--size", type=int, default=224)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--pool", type=int, default=500)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--warmup", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

m = getattr(torchvision.models, a.model)(weights=None).eval().to(memory_format=torch.channels_last)
features = m.features if a.model == "mobilenet_v2" else torch.nn.Sequential(*list(m.children())[:-2])
pool = min(a.pool, a.images)
# A fixed pool of synthetic uint8 NHWC images, cycled (pixel values do not change the speed).
idx = torch.arange(pool * a.size * a.size * 3, dtype=torch.int64)
pixels = ((idx * 2654435761) % (2 ** 32) // (2 ** 24)).to(torch.uint8).reshape(pool, a.size, a.size, 3)
mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)

def embed(start, end):
    rows = torch.arange(start, end) % pool
    x = pixels[rows].permute(0, 3, 1, 2).float().div(255).sub(mean).div(std)
    return features(x).mean((2, 3))

with torch.no_grad():
    for _ in range(a.warmup):
        embed(0, a.batch)
    t = time.perf_counter()
    n = 0
    for s in range(0, a.images, a.batch):
        e = embed(s, min(a.images, s + a.batch))
        n += e.shape[0]
    dt = time.perf_counter() - t
print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "model": a.model, "images": n, "size": a.size, "batch": a.batch,
                  "threads": a.threads, "seconds": round(dt, 3), "images_per_s": round(n / dt, 1)}))

# PyTorch's side of bench/op-overhead.ts: the same probes from Python, for callgrind or timing.
#   valgrind --tool=callgrind /usr/bin/python3 bench/peer_op_overhead.py <probe> <n>
#   /usr/bin/python3 bench/peer_op_overhead.py --time   (µs per op, JSON on the last line)
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
a = torch.randn(4)
x = torch.randn(1, 8, 8, 8)
w = torch.randn(8, 8, 3, 3)


def add(n):
    for _ in range(n):
        a.add(a)


def conv2d(n):
    for _ in range(n):
        F.conv2d(x, w, None, padding=1)


def per_op_us(fn, n, rounds=5):
    fn(100)
    best = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn(n)
        best.append((time.perf_counter() - t) * 1e6 / n)
    return sorted(best)[len(best) // 2]


if __name__ == '__main__':
    if sys.argv[1] == '--time':
        threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
        torch.set_num_threads(threads)
        print(json.dumps({'add_us': per_op_us(add, 20000), 'conv2d_us': per_op_us(conv2d, 5000)}))
    else:
        {'add': add, 'conv2d': conv2d}[sys.argv[1]](int(sys.argv[2]))

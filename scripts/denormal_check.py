"""Does a denormal-heavy state slow the autoencoder's transposed-convolution step, and does
flushing denormals to zero (torch.set_flush_denormal, = at::globalContext().setFlushDenormal)
restore the speed? Small runs only; 1 thread. Prints one JSON line of milliseconds per step.

The decoder's last ConvTranspose2d (32 -> 3 channels, 16x16 -> 32x32) with a batch of 128, as
ConvAutoencoder has it; a denormal batch is the same data scaled by 1e-39 (below float32's
smallest normal, 1.18e-38), as gradients through a saturated sigmoid become late in training."""
import json, sys, time
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def step_ms(x, g, conv, n):
    for _ in range(3):
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x).backward(g)
    t = time.perf_counter()
    for _ in range(n):
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x).backward(g)
    return (time.perf_counter() - t) * 1000 / n


def adam_ms(params, n, grad):
    opt = torch.optim.Adam(params, lr=1e-3)
    for p in params:
        p.grad = torch.full_like(p, grad)  # 1e-20 squared is 1e-40: a denormal exp_avg_sq
    for _ in range(3):
        opt.step()
    t = time.perf_counter()
    for _ in range(n):
        opt.step()
    return (time.perf_counter() - t) * 1000 / n


out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "steps": steps}
for flush in (False, True):
    ok = torch.set_flush_denormal(flush)
    key = "flush" if flush else "no_flush"
    out[f"{key}_supported"] = ok
    conv = torch.nn.ConvTranspose2d(32, 3, 3, stride=2, padding=1, output_padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(128, 32, 16, 16).contiguous(memory_format=torch.channels_last).requires_grad_()
    g = torch.randn(128, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    out[f"{key}_normal_ms"] = step_ms(x, g, conv, steps)
    # Only the incoming gradient denormal (a saturated sigmoid's): products stay in the denormal range.
    out[f"{key}_denormal_grad_ms"] = step_ms(x, g * 1e-39 * 1e3, conv, steps)
    big = [torch.nn.Parameter(torch.randn(256, 256)) for _ in range(8)]
    out[f"{key}_adam_normal_state_ms"] = adam_ms(big, steps, 1e-3)
    out[f"{key}_adam_denormal_state_ms"] = adam_ms(big, steps, 1e-20)
torch.set_flush_denormal(False)
print(json.dumps(out))

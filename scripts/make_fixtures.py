#!/usr/bin/python3
"""Reference values for deepmetric's op tests, computed by PyTorch (Debian's python3-torch).

Writes test/fixtures/torch-forward.json: for each case, its inputs, its options and PyTorch's
outputs, all as flat float64 lists with shapes. Run from the repository root:
    /usr/bin/python3 scripts/make_fixtures.py
"""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
cases = []


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "data": t.double().flatten().tolist() if t.dtype != torch.bool else t.int().flatten().tolist()}


def case(name, inputs, opts, outputs):
    cases.append({"name": name, "inputs": {k: enc(v) for k, v in inputs.items()}, "opts": opts,
                  "outputs": {k: enc(v) for k, v in outputs.items()}})


x = torch.randn(2, 4, 7, 6)
w = torch.randn(6, 4, 3, 3)
b = torch.randn(6)
case("conv2d_stride2_pad1", {"x": x, "w": w, "b": b}, {"stride": 2, "padding": 1},
     {"y": F.conv2d(x, w, b, stride=2, padding=1)})
case("conv2d_same_dilation2", {"x": x, "w": w}, {"padding": "same", "dilation": 2},
     {"y": F.conv2d(x, w, None, padding="same", dilation=2)})
wd = torch.randn(4, 1, 3, 3)
case("conv2d_depthwise", {"x": x, "w": wd}, {"padding": 1, "groups": 4},
     {"y": F.conv2d(x, wd, None, padding=1, groups=4)})
wt = torch.randn(4, 3, 3, 3)
bt = torch.randn(3)
case("conv_transpose2d", {"x": x, "w": wt, "b": bt}, {"stride": 2, "padding": 1, "outputPadding": 1},
     {"y": F.conv_transpose2d(x, wt, bt, stride=2, padding=1, output_padding=1)})

g, bb = torch.randn(4), torch.randn(4)
rm, rv = torch.randn(4), torch.rand(4) + 0.5
rm2, rv2 = rm.clone(), rv.clone()
ytrain = F.batch_norm(x, rm2, rv2, g, bb, training=True, momentum=0.1, eps=1e-5)
case("batch_norm_train", {"x": x, "g": g, "b": bb, "rm": rm, "rv": rv}, {"momentum": 0.1, "eps": 1e-5},
     {"y": ytrain, "rm_after": rm2, "rv_after": rv2})
case("batch_norm_eval", {"x": x, "g": g, "b": bb, "rm": rm, "rv": rv}, {"eps": 1e-3},
     {"y": F.batch_norm(x, rm, rv, g, bb, training=False, eps=1e-3)})

a = torch.randn(5, 8)
lw, lb = torch.randn(3, 8), torch.randn(3)
case("linear", {"x": a, "w": lw, "b": lb}, {}, {"y": F.linear(a, lw, lb)})
case("normalize", {"x": a}, {}, {"y": F.normalize(a, dim=1)})
logits = torch.randn(6, 5)
target = torch.tensor([0, 4, 2, 2, 1, 3])
cw = torch.rand(5) + 0.5
case("cross_entropy", {"logits": logits, "target": target}, {}, {"loss": F.cross_entropy(logits, target)})
case("cross_entropy_smooth_weighted", {"logits": logits, "target": target, "weight": cw}, {"labelSmoothing": 0.1},
     {"loss": F.cross_entropy(logits, target, weight=cw, label_smoothing=0.1)})
case("cross_entropy_none", {"logits": logits, "target": target}, {"reduction": "none"},
     {"loss": F.cross_entropy(logits, target, reduction="none")})
case("nll_loss", {"logp": F.log_softmax(logits, 1), "target": target}, {}, {"loss": F.nll_loss(F.log_softmax(logits, 1), target)})
p, q = torch.rand(7), torch.rand(7)
case("mse_loss", {"a": p, "b": q}, {}, {"loss": F.mse_loss(p, q)})
case("bce", {"p": p, "t": (q > 0.5).float()}, {}, {"loss": F.binary_cross_entropy(p, (q > 0.5).float())})
z = torch.randn(7)
case("bce_logits", {"z": z, "t": (q > 0.5).float()}, {}, {"loss": F.binary_cross_entropy_with_logits(z, (q > 0.5).float())})

case("max_pool2d", {"x": x}, {"kernel": 3, "stride": 2, "padding": 1}, {"y": F.max_pool2d(x, 3, 2, 1)})
case("avg_pool2d", {"x": x}, {"kernel": 2}, {"y": F.avg_pool2d(x, 2)})
case("adaptive_avg_pool2d", {"x": x}, {"size": [3, 2]}, {"y": F.adaptive_avg_pool2d(x, (3, 2))})
case("upsample_nearest", {"x": x}, {"size": [14, 12]}, {"y": F.interpolate(x, size=(14, 12), mode="nearest")})
case("upsample_bilinear", {"x": x}, {"size": [10, 9]}, {"y": F.interpolate(x, size=(10, 9), mode="bilinear", align_corners=False)})
s = torch.randn(4, 6) * 4
case("activations", {"x": s}, {}, {
    "relu": F.relu(s), "relu6": F.relu6(s), "leaky": F.leaky_relu(s, 0.2), "sigmoid": torch.sigmoid(s),
    "tanh": torch.tanh(s), "gelu": F.gelu(s), "silu": F.silu(s), "hardswish": F.hardswish(s),
    "softmax": F.softmax(s, 1), "log_softmax": F.log_softmax(s, 1)})
u, v = torch.randn(5, 3), torch.randn(4, 3)
case("cdist_cosine", {"a": u, "b": v}, {}, {"cdist": torch.cdist(u, v), "cos": F.cosine_similarity(u[:4], v, dim=1)})
case("reductions", {"x": s}, {}, {
    "sum1": s.sum(1), "mean0k": s.mean(0, keepdim=True), "var1": s.var(1), "std0": s.std(0),
    "logsumexp1": torch.logsumexp(s, 1), "norm1": s.norm(dim=1), "median": s.median(), "median1": s.median(1).values,
    "amax1": s.amax(1), "argmin0": s.argmin(0), "prod1": s.prod(1)})
tk = torch.topk(s, 3, dim=1)
srt = torch.sort(s, dim=0, descending=True)
case("topk_sort", {"x": s}, {}, {"topk_values": tk.values, "topk_indices": tk.indices, "sort_values": srt.values, "sort_indices": srt.indices})


def optimizer_trajectory(make, steps=5):
    """Parameters after each step of minimising sum((w * c - 1)^2 + w^3) from a fixed start."""
    w0 = torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=torch.float64)
    c = torch.tensor([1.0, 2.0, -0.5, 3.0], dtype=torch.float64)
    w = w0.clone().requires_grad_(True)
    opt = make([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w * c - 1) ** 2 + w ** 3).sum()
        loss.backward()
        opt.step()
        out.append(w.detach().clone())
    return w0, c, torch.stack(out)


for name, opts, make in [
    ("adam_amsgrad", {"lr": 0.1, "amsgrad": True, "weightDecay": 0.01},
     lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.01)),
    ("adamw", {"lr": 0.1, "weightDecay": 0.1}, lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1)),
    ("sgd_nesterov", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weightDecay": 0.001},
     lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.001)),
]:
    w0, c, traj = optimizer_trajectory(make)
    case("optim_" + name, {"w0": w0, "c": c}, opts, {"trajectory": traj})

with open("test/fixtures/torch-forward.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases")

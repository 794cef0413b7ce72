#!/usr/bin/python3
"""Independent reader of a safetensors file (the published format, with numpy only), for interop tests.

Prints JSON: {name: {"dtype", "shape", "data": flat list}} plus "__metadata__".
Usage: read_safetensors.py FILE
"""
import json, struct, sys
import numpy as np

DT = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_, "F16": np.float16}
with open(sys.argv[1], "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
out = {"__metadata__": header.pop("__metadata__", {})}
for name, e in header.items():
    a, b = e["data_offsets"]
    arr = np.frombuffer(body[a:b], dtype=DT[e["dtype"]]).reshape(e["shape"])
    out[name] = {"dtype": e["dtype"], "shape": list(arr.shape), "data": arr.astype(np.float64).flatten().tolist()}
print(json.dumps(out))

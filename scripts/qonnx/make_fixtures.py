"""Expected outputs of the QONNX fake-quant ops from qonnx's own executor (execute_node of the
registered custom ops), written to test/fixtures/qonnx/cases.json for test/ops/qonnx.test.ts.

Run from the repository root with a Python that has qonnx installed (`pip install qonnx`):
    python scripts/qonnx/make_fixtures.py
Tensors are stored as base64 of their little-endian bytes (f32 bit patterns: NaN and -0 survive).
"""

import base64
import json
import os

import numpy as np
from onnx import helper
from qonnx.custom_op.registry import getCustomOp

OUT = os.path.join("test", "fixtures", "qonnx", "cases.json")
MODES = ["ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]
rng = np.random.default_rng(7)


def enc(a):
    a = np.asarray(a)
    return {"dtype": str(a.dtype), "dims": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode()}


def values(shape, span):
    """f32 values around a grid: ties k + 0.5, out-of-range values, +-0, NaN, +-inf."""
    n = int(np.prod(shape))
    v = (rng.random(n) - 0.5) * span
    ties = rng.random(n) < 0.3
    v[ties] = np.floor(v[ties]) + 0.5
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 0.5, -0.5, -0.3, 1e-30]
    idx = rng.choice(n, size=min(len(special), n // 3), replace=False)
    v[idx] = special[: len(idx)]
    return v.astype(np.float32).reshape(shape)


def run(op, inputs, attrs):
    """qonnx resolves ops only in its own domain; the models put the same op in all three."""
    names = [f"in{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, ["out"], domain="qonnx.custom_op.general", **attrs)
    ctx = dict(zip(names, inputs))
    getCustomOp(node, onnx_opset_version=1).execute_node(ctx, None)
    return np.asarray(ctx["out"], dtype=np.float32)


cases = []
DOMAINS = ["qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general"]


def add(name, op, inputs, attrs, const_from=1):
    """inputs[0] is the model input; inputs[const_from:] become initializers."""
    domain = DOMAINS[len(cases) % 3]
    out = run(op, inputs, attrs)
    cases.append({
        "name": name, "op": op, "domain": domain, "import_domain": len(cases) % 2 == 0,
        "attrs": attrs, "inputs": [enc(a) for a in inputs], "const_from": const_from, "output": enc(out),
    })


# Granularities: x shape, scale shape, zero point shape (() = per-tensor).
GRANS = [
    ("per-tensor", (2, 3, 7), (), ()),
    ("per-channel axis 1", (2, 3, 7), (1, 3, 1), ()),
    ("per-channel last", (2, 3, 7), (7,), (7,)),
    ("per-channel axis 1 zp", (2, 3, 5, 3), (3, 1, 1), (3, 1, 1)),
]


def scales(shape):
    s = np.where(rng.random(shape) < 0.5, 0.25, 0.05 + rng.random(shape))
    return np.asarray(s, dtype=np.float32)


k = 0
for mode in MODES:
    for signed in (1, 0):
        for narrow in (0, 1):
            for bits in (1, 2, 4, 8):
                gname, xs, ss, zs = GRANS[k % len(GRANS)]
                k += 1
                x = values(xs, 2.0 ** bits * 1.5 * 0.25)
                s = scales(ss)
                lo = 0 if not signed else -(2 ** (bits - 1))
                zp = np.asarray(rng.integers(lo, 2 ** max(bits - 1, 1), size=zs) if k % 3 else np.zeros(zs), dtype=np.float32)
                mname = mode if k % 5 else mode.lower()
                attrs = {"signed": signed, "narrow": narrow, "rounding_mode": mname}
                op = "Quant" if k % 4 else "IntQuant"
                add(f"{op} {mname} signed={signed} narrow={narrow} b={bits} {gname}", op,
                    [x, s, zp, np.asarray(bits, dtype=np.float32)], attrs)

# Default rounding mode, HALF_EVEN spelling, a non-integer zero point, a negative scale.
x = values((3, 11), 6.0)
add("Quant default rounding", "Quant", [x, np.float32(0.5), np.float32(1), np.float32(4)], {"signed": 1, "narrow": 0})
add("Quant HALF_EVEN", "Quant", [x, np.float32(0.5), np.float32(0), np.float32(4)], {"signed": 1, "narrow": 1, "rounding_mode": "HALF_EVEN"})
add("Quant fractional zeropt", "Quant", [x, np.float32(0.3), np.float32(0.75), np.float32(3)], {"signed": 0, "narrow": 0, "rounding_mode": "ROUND"})
add("Quant negative scale", "Quant", [x, np.asarray([-0.5] * 11, np.float32), np.float32(0), np.float32(2)], {"signed": 1, "narrow": 1, "rounding_mode": "ROUND"})
add("Quant 16 bit wide", "Quant", [values((2, 33), 4e5), np.float32(3.0), np.float32(0), np.float32(16)], {"signed": 1, "narrow": 0, "rounding_mode": "HALF_UP"})

# BipolarQuant.
add("BipolarQuant per-tensor", "BipolarQuant", [values((2, 3, 7), 4.0), np.float32(0.75)], {})
add("BipolarQuant per-channel", "BipolarQuant", [values((2, 3, 7), 4.0), scales((1, 3, 1))], {})
add("BipolarQuant negative scales last axis", "BipolarQuant", [values((5, 6), 4.0), -scales((6,))], {})

# Trunc v1.
for i, mode in enumerate(MODES):
    inb, outb = [(8, 4), (8, 8), (6, 2), (16, 8)][i % 4]
    xs, ss = [((2, 3, 7), ()), ((2, 3, 7), (1, 3, 1)), ((4, 9), (9,))][i % 3]
    s = scales(ss)
    x = values(xs, 2.0 ** inb * 0.25) * (np.float32(0.25) if ss == () else np.float32(1))
    zp = np.float32(i % 2 * 3)
    attrs = {"rounding_mode": mode}
    add(f"Trunc {mode} {inb}->{outb}", "Trunc", [x, s, zp, np.float32(inb), np.float32(outb)], attrs)

# MultiThreshold: layouts, shared thresholds, unsorted thresholds, out_scale / out_bias.
def thresholds(c, t):
    return np.sort(((rng.random((c, t)) - 0.5) * 8).astype(np.float32), axis=1)


add("MultiThreshold NCHW default layout", "MultiThreshold", [values((2, 3, 4, 5), 10.0), thresholds(3, 7)], {"out_dtype": "UINT3"})
add("MultiThreshold NHWC", "MultiThreshold", [values((2, 4, 5, 3), 10.0), thresholds(3, 3)],
    {"out_dtype": "INT2", "data_layout": "NHWC", "out_scale": 0.5, "out_bias": -1.5})
add("MultiThreshold NWC (rank 3 default)", "MultiThreshold", [values((2, 5, 6), 10.0), thresholds(6, 15)], {"out_dtype": "UINT4"})
add("MultiThreshold NC shared thresholds", "MultiThreshold", [values((3, 10), 10.0), thresholds(1, 4)],
    {"out_dtype": "INT3", "out_scale": 0.1, "out_bias": 0.3})
add("MultiThreshold NCHW layout unsorted", "MultiThreshold",
    [values((1, 4, 3, 3), 10.0), ((rng.random((4, 5)) - 0.5) * 8).astype(np.float32)], {"out_dtype": "UINT3", "data_layout": "NCHW"})
add("MultiThreshold NC layout, rank 5", "MultiThreshold", [values((1, 2, 2, 3, 3), 10.0), thresholds(2, 3)],
    {"out_dtype": "UINT2", "data_layout": "NCDHW", "out_scale": 2.0})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "scripts/qonnx/make_fixtures.py", "cases": cases}, f, indent=0)
print(f"{len(cases)} cases -> {OUT}")

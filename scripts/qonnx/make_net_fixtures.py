"""Small QONNX networks and their outputs from qonnx's own executor (qonnx.core.onnx_exec), written
to test/fixtures/qonnx/nets.json for test/passes/qonnx-quant-nets.test.ts, which checks that lowbit,
with its QONNX layers lowered to integer and low-bit-weight kernels, gives the same bits.

Scales are powers of two and inputs lie on a grid of 1/16, so that the float graph qonnx executes
makes no rounding error and the integer layers must agree with it exactly (ties included).

Run from the repository root with a Python that has qonnx installed (`pip install qonnx`):
    python scripts/qonnx/make_net_fixtures.py
"""

import base64
import json
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes

OUT = os.path.join("test", "fixtures", "qonnx", "nets.json")
DOMAIN = "qonnx.custom_op.general"
rng = np.random.default_rng(3)


def enc(a):
    a = np.asarray(a)
    return {"dtype": str(a.dtype), "dims": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode()}


class Net:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, a):
        nm = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), nm))
        return nm

    def op(self, op, ins, domain="", **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], domain=domain, name=out, **attrs))
        return out

    def quant(self, x, bits, scale, zp=0.0, signed=1, narrow=0, mode="ROUND"):
        return self.op("Quant", [x, self.const(scale), self.const(zp), self.const(bits)], DOMAIN,
                       signed=signed, narrow=narrow, rounding_mode=mode)

    def weights(self, shape, span):
        w = np.round((rng.random(shape) - 0.5) * 4 * span) / 2
        return self.const(w * np.where(rng.random(shape) < 0.2, 1.37, 1.0))

    def model(self, x_shape):
        """The graph from input x to the last node's output, renamed y."""
        self.nodes[-1].output[0] = "y"
        g = helper.make_graph(self.nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)])
        m.ir_version = 8
        return m


def pow2s(n, shape):
    return (2.0 ** rng.integers(-3, 1, size=n)).reshape(shape)


def mlp():
    n = Net()
    x = n.quant("x", 8, 0.125)
    h = n.op("MatMul", [x, n.quant(n.weights((32, 24), 8), 4, pow2s(24, (1, 24)))])
    a = n.op("Relu", [n.op("Add", [h, n.const((np.arange(24) % 5) / 4)])])
    a = n.quant(a, 4, 0.25, signed=0, mode="HALF_DOWN")
    w2 = n.quant(n.weights((10, 24), 2), 2, pow2s(10, (10, 1)), narrow=1)
    n.op("Gemm", [a, w2, n.const(np.arange(10) / 8)], transB=1)
    return n.model([3, 32]), (3, 32)


def convnet():
    n = Net()
    x = n.quant("x", 8, 1 / 16, mode="HALF_UP")
    c1 = n.op("Conv", [x, n.quant(n.weights((8, 3, 3, 3), 64), 8, pow2s(8, (8, 1, 1, 1))),
                       n.const([1, -1, 0.5, 0, 2, -2, 0.25, 3])], pads=[1, 1, 1, 1])
    a1 = n.quant(n.op("Relu", [c1]), 4, 0.5, signed=0, mode="FLOOR")
    c2 = n.op("Conv", [a1, n.quant(n.weights((8, 8, 3, 3), 4), 4, pow2s(8, (8, 1, 1, 1)))], strides=[2, 2], pads=[1, 1, 1, 1])
    p = n.op("Flatten", [n.op("GlobalAveragePool", [n.op("Relu", [c2])])])
    n.op("Gemm", [n.quant(p, 8, 1 / 8), n.quant(n.weights((10, 8), 64), 8, pow2s(10, (10, 1))), n.const(np.full(10, 0.5))], transB=1)
    return n.model([2, 3, 12, 12]), (2, 3, 12, 12)


nets = []
for name, make in [("MLP", mlp), ("conv net", convnet)]:
    model, shape = make()
    x = (np.round((rng.random(shape) - 0.5) * np.where(rng.random(shape) < 0.1, 800, 80)) / 16).astype(np.float32)
    mw = ModelWrapper(model).transform(InferShapes())
    y = execute_onnx(mw, {"x": x})["y"]
    nets.append({"name": name, "model": base64.b64encode(model.SerializeToString()).decode(), "x": enc(x), "y": enc(y)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "scripts/qonnx/make_net_fixtures.py", "nets": nets}, f, indent=0)
print(f"{len(nets)} nets -> {OUT}")

"""Small untrained Brevitas W1A1 networks, exported the way users export them, with qonnx's outputs.

Writes test/fixtures/brevitas/{mlp,cnn,cnn_view}.onnx and cases.json (inputs, qonnx's outputs) for
test/passes/binary-brevitas.test.ts, which checks that lowbit lowers the hidden layers to the
XNOR-popcount kernels and gives qonnx's numbers.

  mlp       8-bit input quantizer and first layer (float scales), two binary layers, 8-bit last
            layer with bias (float scale); BatchNorm1d → binary activation between layers.
            brevitas.export.export_qonnx with its default exporter (torch.export, dynamic batch),
            then qonnx's cleanup.
  cnn       BNN-PYNQ style (brevitas_examples/bnn_pynq: constant scale 1, 1 bit → BipolarQuant):
            8-bit input and first conv (power-of-two scales), BatchNorm → binary activation →
            MaxPool → binary conv (twice), BatchNorm → binary activation → Flatten → binary linear
            → BatchNorm1d → binary activation → 8-bit last linear (power-of-two scale).
            Default exporter, then qonnx's cleanup.
  cnn_view  the same network with x.view(x.size(0), -1) instead of Flatten, exported by the
            TorchScript exporter with a dynamic batch and not cleaned: the Reshape's shape is
            Shape → Gather → Unsqueeze → Concat on the binary activation.

Weights are random (seeded) and BatchNorm statistics random too, as after training. Outputs come
from qonnx.core.onnx_exec.execute_onnx. The sign of every binary activation's input is kept away
from zero (|x| ≥ MARGIN) for the inputs saved: the binary layers round dot·scale once and the
BatchNorm folds differently from onnxruntime's, which may move a value by a few ulps, so a value
within that of 0 could change sign; inputs are redrawn until none is.

Run from the repository root with the training venv (torch, brevitas, qonnx):
    nice -n 19 /work/venv-train/bin/python scripts/qonnx/make_brevitas_fixtures.py
"""

import base64
import copy
import json
import os
import tempfile
import warnings

import numpy as np
import onnx
import torch
from torch import nn

from brevitas.core.bit_width import BitWidthImplType
from brevitas.core.quant import QuantType
from brevitas.core.restrict_val import FloatToIntImplType, RestrictValueType
from brevitas.core.scaling import ScalingImplType
from brevitas.core.zero_point import ZeroZeroPoint
from brevitas.export import export_qonnx
from brevitas.inject import ExtendedInjector
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8ActPerTensorFloat, Int8WeightPerTensorFixedPoint,
                            Int8WeightPerTensorFloat)
from brevitas.quant.binary import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from brevitas.quant.solver import ActQuantSolver, WeightQuantSolver
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
OUT = os.path.join("test", "fixtures", "brevitas")
MARGIN = 1e-4
BATCH = 3


class BnnQuant(ExtendedInjector):
    """brevitas_examples/bnn_pynq/models/common.py: constant scale 1, binary for 1 bit."""
    bit_width_impl_type = BitWidthImplType.CONST
    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    zero_point_impl = ZeroZeroPoint
    float_to_int_impl_type = FloatToIntImplType.ROUND
    scaling_per_output_channel = False
    narrow_range = True
    signed = True
    quant_type = QuantType.BINARY
    bit_width = 1


class BnnWeightQuant(BnnQuant, WeightQuantSolver):
    scaling_const = 1.0


class BnnActQuant(BnnQuant, ActQuantSolver):
    min_val = -1.0
    max_val = 1.0


def randomize_bn(bn, g):
    """Random statistics and affine parameters, as a trained network has."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g) * 2)
        bn.running_var.copy_(torch.rand(c, generator=g) * 3 + 0.2)
        bn.weight.copy_(torch.randn(c, generator=g))
        bn.bias.copy_(torch.randn(c, generator=g) * 0.5)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = QuantIdentity(act_quant=Int8ActPerTensorFloat)
        self.fc0 = QuantLinear(20, 40, bias=False, weight_quant=Int8WeightPerTensorFloat)
        self.bn0 = nn.BatchNorm1d(40)
        self.a0 = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc1 = QuantLinear(40, 40, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)
        self.bn1 = nn.BatchNorm1d(40)
        self.a1 = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc2 = QuantLinear(40, 32, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)
        self.bn2 = nn.BatchNorm1d(32)
        self.a2 = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.fc3 = QuantLinear(32, 10, bias=True, weight_quant=Int8WeightPerTensorFloat)

    def forward(self, x):
        x = self.a0(self.bn0(self.fc0(self.inp(x))))
        x = self.a1(self.bn1(self.fc1(x)))
        x = self.a2(self.bn2(self.fc2(x)))
        return self.fc3(x)


class Cnn(nn.Module):
    def __init__(self, view):
        super().__init__()
        self.view = view
        self.inp = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint)
        self.c0 = QuantConv2d(1, 16, 3, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)
        self.bn0 = nn.BatchNorm2d(16, eps=1e-4)
        self.a0 = QuantIdentity(act_quant=BnnActQuant)
        self.p0 = nn.MaxPool2d(2)
        self.c1 = QuantConv2d(16, 16, 3, bias=False, weight_quant=BnnWeightQuant)
        self.bn1 = nn.BatchNorm2d(16, eps=1e-4)
        self.a1 = QuantIdentity(act_quant=BnnActQuant)
        self.p1 = nn.MaxPool2d(2)
        self.c2 = QuantConv2d(16, 16, 3, padding=1, bias=False, weight_quant=BnnWeightQuant)
        self.bn2 = nn.BatchNorm2d(16, eps=1e-4)
        self.a2 = QuantIdentity(act_quant=BnnActQuant)
        self.fc0 = QuantLinear(16 * 2 * 2, 32, bias=False, weight_quant=BnnWeightQuant)
        self.bn3 = nn.BatchNorm1d(32, eps=1e-4)
        self.a3 = QuantIdentity(act_quant=BnnActQuant)
        self.fc1 = QuantLinear(32, 10, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        x = self.p0(self.a0(self.bn0(self.c0(self.inp(x)))))
        x = self.p1(self.a1(self.bn1(self.c1(x))))
        x = self.a2(self.bn2(self.c2(x)))
        x = x.view(x.size(0), -1) if self.view else torch.flatten(x, 1)
        x = self.a3(self.bn3(self.fc0(x)))
        return self.fc1(x)


def build(net, seed):
    """Random weights; a few training-mode passes set the statistics-based activation scales
    (Int8ActPerTensorFloat); then random BatchNorm parameters, and eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (QuantConv2d, QuantLinear)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
        net.train()
        for _ in range(4):
            net(torch.randn(16, *SHAPES[type(net).__name__][1:], generator=g))
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                randomize_bn(m, g)
    return net.eval()


SHAPES = {"Mlp": (BATCH, 20), "Cnn": (BATCH, 1, 16, 16)}


def export(net, shape, path, dynamo, clean):
    """Exports to a scratch directory (the exporter may write external data there) and saves
    one self-contained model at `path`."""
    x = torch.randn(2, *shape[1:])
    if dynamo:
        kw = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1, max=1024)},)}
    else:
        kw = {"input_names": ["x"], "output_names": ["y"], "dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}}}
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "model.onnx")
        export_qonnx(net, (x,), raw, dynamo=dynamo, **kw)
        model = ModelWrapper(onnx.load(raw, load_external_data=True))
    if clean:
        model = cleanup_model(model)
    m = model.model
    m.graph.input[0].name, m.graph.output[0].name = rename_io(m, "x", "y")
    strip(m)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return ModelWrapper(path)


def strip(m):
    """Drops what lowbit and qonnx do not read: doc strings, exporter metadata, value_info."""
    m.doc_string = ""
    del m.metadata_props[:]
    del m.graph.value_info[:]
    del m.graph.metadata_props[:]
    for n in m.graph.node:
        n.doc_string = ""
        del n.metadata_props[:]


def rename_io(m, x, y):
    """Names the graph input x and output y (qonnx's cleanup calls them global_in/global_out)."""
    old_x, old_y = m.graph.input[0].name, m.graph.output[0].name
    for n in m.graph.node:
        n.input[:] = [x if i == old_x else y if i == old_y else i for i in n.input]
        n.output[:] = [y if o == old_y else o for o in n.output]
    return x, y


def sign_inputs(model):
    """Names of the values whose sign a binary activation (BipolarQuant on a non-constant) takes."""
    inits = {i.name for i in model.graph.initializer}
    return [n.input[0] for n in model.graph.node if n.op_type == "BipolarQuant" and n.input[0] not in inits]


def reference(model, shape, rng):
    """Inputs (redrawn until every sign has a margin) and qonnx's outputs. The executor checks the
    feed against the declared input shape, so it runs a copy whose batch is fixed."""
    model = ModelWrapper(copy.deepcopy(model.model))
    model.set_tensor_shape("x", list(shape))
    model = model.transform(InferShapes())
    for _ in range(100):
        x = rng.standard_normal(shape).astype(np.float32)
        ctx = execute_onnx(model, {"x": x}, return_full_exec_context=True)
        margin = min(float(np.abs(ctx[v]).min()) for v in sign_inputs(model.model))
        if margin >= MARGIN:
            return x, ctx["y"], margin
    raise RuntimeError("no input with every sign at least MARGIN away from zero")


def enc(a):
    a = np.ascontiguousarray(a)
    return {"dtype": str(a.dtype), "dims": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode()}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(11)
    cases = []
    for name, make, dynamo, clean in [("mlp", Mlp, True, True), ("cnn", lambda: Cnn(False), True, True),
                                      ("cnn_view", lambda: Cnn(True), False, False)]:
        seed = 5 if name.startswith("cnn") else 3
        torch.manual_seed(seed)  # module construction draws the biases' initial values
        net = build(make(), seed)
        shape = SHAPES[type(net).__name__]
        path = os.path.join(OUT, f"{name}.onnx")
        model = export(net, shape, path, dynamo, clean)
        x, y, margin = reference(model, shape, rng)
        with torch.no_grad():
            drift = float(np.abs(net(torch.from_numpy(x)).numpy() - y).max())
        ops = sorted({n.op_type for n in model.model.graph.node})
        print(f"{name}: {os.path.getsize(path)} bytes, ops {ops}, sign margin {margin:.3g}, |brevitas − qonnx| {drift:.3g}")
        cases.append({"name": name, "file": f"{name}.onnx", "exporter": "torch.export" if dynamo else "torchscript",
                      "cleaned": clean, "x": enc(x), "y": enc(y)})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "scripts/qonnx/make_brevitas_fixtures.py", "margin": MARGIN, "cases": cases}, f, indent=0)


if __name__ == "__main__":
    main()

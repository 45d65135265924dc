"""The reference runtimes lowbit's Fashion-MNIST models are measured with: onnxruntime (CPU, one
thread) for standard ONNX, qonnx's executor for QONNX graphs (Quant/BipolarQuant in numpy, every
other node through onnxruntime one node at a time)."""
import numpy as np
import onnxruntime as ort
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes

QONNX_DOMAINS = ('qonnx.custom_op.general', 'onnx.brevitas', 'finn.custom_op.general')


def is_qonnx(model_proto):
    return any(n.domain in QONNX_DOMAINS for n in model_proto.graph.node)


def run_ort(path, x):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    s = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def run_qonnx(path, x, batch=1000):
    """The executor wants static shapes, so the symbolic batch is fixed per batch of images."""
    out = []
    models = {}
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        if len(xb) not in models:
            m = ModelWrapper(path).transform(ChangeBatchSize(len(xb))).transform(InferShapes())
            models[len(xb)] = m
        m = models[len(xb)]
        out.append(execute_onnx(m, {m.graph.input[0].name: xb})[m.graph.output[0].name])
    return np.concatenate(out)

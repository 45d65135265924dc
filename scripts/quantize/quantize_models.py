"""Quantizes the float32 Fashion-MNIST models with onnxruntime.quantization into the models lowbit
is measured on and prints each one's accuracy on the 256-image subset with onnxruntime (the full
test-set figures are in models/models.json, scripts/train/measure_models.py).
(A Python peer like scripts/train: never needed at lowbit run time.)

    python3 -m venv .venv && .venv/bin/pip install -r scripts/quantize/requirements.txt
    .venv/bin/python scripts/quantize/quantize_models.py

Produces (calibration = the committed 256-image subset):
  fmnist-mlp-int8-qdq.onnx      quantize_static, QDQ, per-channel int8 weights, uint8 activations
  fmnist-mlp-int8-dynamic.onnx  quantize_dynamic: DynamicQuantizeLinear + MatMulInteger
  fmnist-mlp-int4-nbits.onnx    MatMulNBitsQuantizer, 4 bits, block 32, asymmetric (zero points)
  fmnist-mlp-int4-qdq.onnx      the same quantizer with QuantFormat.QDQ: DQ(UINT4, blocked) -> MatMul
  fmnist-cnn-int8-qdq.onnx      quantize_static as for the MLP, on fmnist-cnn-fp32.onnx

quantize_dynamic and MatMulNBitsQuantizer only handle MatMul (they leave Gemm in float), so
those two start from the model with each Gemm(transB=1) rewritten as MatMul(x, Wᵀ) + Add(bias);
quantize_static handles Gemm itself and gets the model as exported. The CNN's 4-bit and lower
models are trained with quantization-aware training instead (scripts/train/train_qat.py).
"""
import logging
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
MODELS = os.path.join(ROOT, 'models')
SOURCE = os.path.join(MODELS, 'fmnist-mlp-fp32.onnx')
CNN_SOURCE = os.path.join(MODELS, 'fmnist-cnn-fp32.onnx')
BLOCK_SIZE = 32


def load_subset():
    """The committed Fashion-MNIST subset as model input float32 [N,1,28,28] = pixel/255, and labels."""
    pixels = np.fromfile(os.path.join(MODELS, 'data', 'fmnist-test-256-images.u8'), dtype=np.uint8)
    labels = np.fromfile(os.path.join(MODELS, 'data', 'fmnist-test-256-labels.u8'), dtype=np.uint8)
    return (pixels.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0), labels


class SubsetReader(CalibrationDataReader):
    """Feeds the calibration images one batch of 32 at a time."""

    def __init__(self, input_name, images, batch=32):
        self.batches = iter([{input_name: images[i:i + batch]} for i in range(0, len(images), batch)])

    def get_next(self):
        return next(self.batches, None)


def gemm_to_matmul(model):
    """Rewrites every Gemm(A, B, C; alpha=beta=1, transA=0) as MatMul(A, B or Bᵀ) + Add(C)."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes = []
    for node in g.node:
        if node.op_type != 'Gemm':
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get('alpha', 1.0) != 1.0 or attrs.get('beta', 1.0) != 1.0 or attrs.get('transA', 0):
            sys.exit(f'{node.name}: only Gemm with alpha=beta=1, transA=0 is rewritten')
        w = inits[node.input[1]]
        if attrs.get('transB', 0):
            wt = numpy_helper.to_array(w).T.copy()
            w.CopyFrom(numpy_helper.from_array(wt, w.name))
        mm_out = node.output[0] + '_matmul'
        nodes.append(helper.make_node('MatMul', [node.input[0], node.input[1]], [mm_out], name=node.name + '_MatMul'))
        nodes.append(helper.make_node('Add', [mm_out, node.input[2]], [node.output[0]], name=node.name + '_Add'))
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def accuracy(path, images, labels):
    """Top-1 accuracy with onnxruntime's CPU provider (default graph optimisations)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    s = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    scores = s.run(None, {s.get_inputs()[0].name: images})[0]
    return float((scores.argmax(1) == labels).mean())


def main():
    # The nbits quantizer logs every node at INFO; its warnings (opset raised to 21 for INT4) stay.
    logging.getLogger('onnxruntime.quantization.matmul_nbits_quantizer').setLevel(logging.WARNING)
    images, labels = load_subset()
    source = onnx.load(SOURCE)
    input_name = source.graph.input[0].name
    out = lambda name: os.path.join(MODELS, name)
    with tempfile.TemporaryDirectory() as tmp:
        matmul_form = os.path.join(tmp, 'fp32-matmul.onnx')
        onnx.save(gemm_to_matmul(onnx.load(SOURCE)), matmul_form)

        # Calibration runs on a temporary copy: quantize_static writes augmented models beside it.
        quantize_static(SOURCE, out('fmnist-mlp-int8-qdq.onnx'), SubsetReader(input_name, images),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)

        quantize_dynamic(matmul_form, out('fmnist-mlp-int8-dynamic.onnx'), weight_type=QuantType.QInt8)

        for name, fmt in (('fmnist-mlp-int4-nbits.onnx', QuantFormat.QOperator),
                          ('fmnist-mlp-int4-qdq.onnx', QuantFormat.QDQ)):
            q = MatMulNBitsQuantizer(onnx.load(matmul_form), bits=4, block_size=BLOCK_SIZE, is_symmetric=False,
                                     quant_format=fmt)
            q.process()
            q.model.save_model_to_file(out(name), use_external_data_format=False)

    quantize_static(CNN_SOURCE, out('fmnist-cnn-int8-qdq.onnx'), SubsetReader(input_name, images),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)

    print(f'{"file":<30} {"bytes":>8} {"accuracy, 256 images":>21}')
    for name in ('fmnist-mlp-int8-qdq.onnx', 'fmnist-mlp-int8-dynamic.onnx', 'fmnist-mlp-int4-nbits.onnx',
                 'fmnist-mlp-int4-qdq.onnx', 'fmnist-cnn-int8-qdq.onnx'):
        path = out(name)
        print(f'{name:<30} {os.path.getsize(path):>8} {accuracy(path, images, labels):>21.4f}')


if __name__ == '__main__':
    main()

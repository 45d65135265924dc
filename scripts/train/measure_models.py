"""Measures every Fashion-MNIST model in models/ on the full 10,000-image test set with the
reference runtimes (reference.py: onnxruntime for standard ONNX, qonnx's executor for QONNX) and
writes models/models.json: per model the file, architecture, precision, format, how it was made,
reference accuracy, bytes, operators and initializer types. For each QDQ model exported from a
QONNX one, it also counts the test images whose predicted class differs between the two.

    .venv/bin/python scripts/train/measure_models.py      (onnx, onnxruntime, qonnx, numpy)
"""
import json
import os
import time
from importlib.metadata import version

import numpy as np
import onnx
import onnxruntime as ort

from fmnist_data import model_input
from reference import is_qonnx, run_ort, run_qonnx

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
QAT = 'train_qat.py: quantization-aware training (Brevitas, STE) from the fp32 model'
PTQ = 'quantize_models.py: onnxruntime.quantization on the fp32 model, calibration = 256-image subset'
PRECISION = {
    'fp32': 'float32',
    'int8': 'int8 per-channel weights, 8-bit activations',
    'int4': '4-bit per-channel weights, 8-bit activations',
    'w2a8': 'ternary per-channel weights {-1,0,1}*s, 8-bit activations',
    'w2a2': 'ternary per-channel weights {-1,0,1}*s, 2-bit activations',
    'w1a1': 'binary weights and activations; first and last layer 8-bit per-channel weights, 8-bit input',
}
# file -> (format, how made); architecture and precision come from the name.
MODELS = {
    'fmnist-mlp-fp32.onnx': ('onnx', 'train_fmnist.py, 15 epochs'),
    'fmnist-mlp-int8-qdq.onnx': ('qdq', PTQ + '; quantize_static QDQ, per-channel QInt8 weights, QUInt8 activations'),
    'fmnist-mlp-int8-dynamic.onnx': ('dynamic', PTQ + '; quantize_dynamic, per-tensor QInt8 weights '
                                     '(DynamicQuantizeLinear + MatMulInteger)'),
    'fmnist-mlp-int4-nbits.onnx': ('matmulnbits', PTQ + '; MatMulNBitsQuantizer 4 bits, block 32, asymmetric '
                                   '(com.microsoft.MatMulNBits), float activations'),
    'fmnist-mlp-int4-qdq.onnx': ('qdq', PTQ + '; MatMulNBitsQuantizer QDQ form: DQ(UINT4, block 32) -> MatMul, '
                                 'float activations'),
    'fmnist-mlp-int4-qonnx.onnx': ('qonnx', QAT),
    'fmnist-mlp-int4-qat-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-mlp-int4-qonnx.onnx'),
    'fmnist-mlp-w2a8-qonnx.onnx': ('qonnx', QAT),
    'fmnist-mlp-w2a8-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-mlp-w2a8-qonnx.onnx'),
    'fmnist-mlp-w2a2-qonnx.onnx': ('qonnx', QAT),
    'fmnist-mlp-w2a2-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-mlp-w2a2-qonnx.onnx'),
    'fmnist-mlp-w1a1-qonnx.onnx': ('qonnx', QAT + '; no QDQ form (BipolarQuant has no standard equivalent)'),
    'fmnist-cnn-fp32.onnx': ('onnx', 'train_fmnist.py, 8 epochs'),
    'fmnist-cnn-int8-qdq.onnx': ('qdq', PTQ + '; quantize_static QDQ, per-channel QInt8 weights, QUInt8 activations'),
    'fmnist-cnn-int4-qonnx.onnx': ('qonnx', QAT),
    'fmnist-cnn-int4-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-cnn-int4-qonnx.onnx'),
    'fmnist-cnn-w2a8-qonnx.onnx': ('qonnx', QAT),
    'fmnist-cnn-w2a8-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-cnn-w2a8-qonnx.onnx'),
    'fmnist-cnn-w2a2-qonnx.onnx': ('qonnx', QAT),
    'fmnist-cnn-w2a2-qdq.onnx': ('qdq', QAT + '; qonnx_to_qdq.py of fmnist-cnn-w2a2-qonnx.onnx'),
    'fmnist-cnn-w1a1-qonnx.onnx': ('qonnx', QAT + '; no QDQ form (BipolarQuant has no standard equivalent)'),
}


def ops_of(model):
    seen = []
    for n in model.graph.node:
        name = n.op_type if n.domain in ('', 'ai.onnx') else f'{n.domain}.{n.op_type}'
        if name not in seen:
            seen.append(name)
    return seen


def initializer_types(model):
    counts = {}
    for t in model.graph.initializer:
        k = onnx.TensorProto.DataType.Name(t.data_type)
        counts[k] = counts.get(k, 0) + 1
    return counts


def qonnx_source(name, made):
    marker = 'qonnx_to_qdq.py of '
    return made.split(marker)[1] if marker in made else None


def main():
    images, labels = model_input('test')
    rows, predictions = [], {}
    print(f'{"file":<32} {"bytes":>8} {"accuracy":>9} {"runtime":<10} seconds')
    for name, (fmt, made) in MODELS.items():
        path = os.path.join(ROOT, 'models', name)
        proto = onnx.load(path)
        t0 = time.time()
        if is_qonnx(proto):
            runtime, scores = 'qonnx', run_qonnx(path, images)
        else:
            runtime, scores = 'onnxruntime', run_ort(path, images)
        predictions[name] = scores.argmax(1)
        acc = float((predictions[name] == labels).mean())
        _, arch, precision = name.split('.')[0].split('-')[:3]
        row = {'file': f'models/{name}', 'arch': arch, 'precision': precision, 'precision_detail': PRECISION[precision],
               'format': fmt, 'made_by': made, 'reference': runtime, 'test_accuracy': acc,
               'bytes': os.path.getsize(path), 'ops': ops_of(proto), 'initializer_types': initializer_types(proto)}
        source = qonnx_source(name, made)
        if source is not None:
            row['predictions_differing_from_qonnx'] = int((predictions[name] != predictions[source]).sum())
        rows.append(row)
        print(f'{name:<32} {row["bytes"]:>8} {acc:>9.4f} {runtime:<10} {time.time() - t0:.0f}', flush=True)

    meta = {'test_set': 'Fashion-MNIST t10k, 10000 images (Debian dataset-fashion-mnist)',
            'input': 'float32 [N,1,28,28] = pixel/255; first output = 10 class scores',
            'onnxruntime': ort.__version__, 'qonnx': version('qonnx'), 'onnx': onnx.__version__,
            'numpy': np.__version__, 'models': rows}
    with open(os.path.join(ROOT, 'models', 'models.json'), 'w') as f:
        f.write(json.dumps(meta, indent=2) + '\n')


if __name__ == '__main__':
    main()

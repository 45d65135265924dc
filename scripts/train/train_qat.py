"""Quantization-aware training (Brevitas, straight-through estimator) of the Fashion-MNIST MLP and
CNN, starting from the trained float32 models, and export in the two forms users have:

  models/fmnist-<arch>-<precision>-qonnx.onnx  QONNX (Quant / BipolarQuant), Brevitas' export_qonnx
                                               then qonnx's cleanup; input "input" float32
                                               [N,1,28,28] = pixel/255, output "logits" [N,10]
  models/fmnist-<arch>-<precision>-qdq.onnx    the same graph in standard QuantizeLinear /
                                               DequantizeLinear form with INT4/INT2 weights
                                               (qonnx_to_qdq.py); none for w1a1, whose BipolarQuant
                                               has no standard equivalent

    nice -n 19 $VENV/bin/python scripts/train/train_qat.py --arch cnn --precision w2a8

Precisions are described in qat_models.py. The MLP int4 QDQ export is named
fmnist-mlp-int4-qat-qdq.onnx because fmnist-mlp-int4-qdq.onnx is onnxruntime's post-training
4-bit block quantization of the same MLP (scripts/quantize/quantize_models.py).
Each export is checked before it is written: the QONNX graph run by qonnx's executor and the QDQ
graph run by onnxruntime must give the PyTorch model's predictions on 200 test images.
"""
import argparse
import os

import numpy as np
import onnx
import torch
from brevitas.export import export_qonnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model

from fit import evaluate, fit
from fmnist_data import model_input
from qat_models import PRECISIONS, build, init_from_float
from qonnx_to_qdq import convert
from reference import run_ort, run_qonnx

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
EPOCHS = {'int4': 4, 'w2a8': 5, 'w2a2': 8, 'w1a1': 12}
LEARNING_RATE = {'int4': 1e-3, 'w2a8': 2e-3, 'w2a2': 2e-3, 'w1a1': 3e-3}
CHECK_IMAGES = 200


def export_qonnx_clean(model, sample, path):
    """Brevitas QONNX export, qonnx cleanup (static shapes, folded constants, readable names), then
    the graph input and output renamed from qonnx's global_in / global_out."""
    model.eval()
    export_qonnx(model, torch.from_numpy(sample), path, dynamo=False, input_names=['input'], output_names=['logits'],
                 dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}})
    wrapper = cleanup_model(ModelWrapper(path))
    wrapper.rename_tensor(wrapper.graph.input[0].name, 'input')
    wrapper.rename_tensor(wrapper.graph.output[0].name, 'logits')
    wrapper.save(path)


def check_same_predictions(name, scores, expected):
    pred, want = scores.argmax(1), expected.argmax(1)
    agree = int((pred == want).sum())
    diff = float(np.abs(scores - expected).max())
    print(f'  {name}: {agree}/{len(want)} predictions as PyTorch, max |Δscore| {diff:.2e}')
    if agree < len(want) - 1:
        raise SystemExit(f'{name}: export disagrees with the PyTorch model')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', choices=['mlp', 'cnn'], required=True)
    ap.add_argument('--precision', choices=list(PRECISIONS), required=True)
    ap.add_argument('--epochs', type=int, default=None)
    ap.add_argument('--init', default=None, help='float32 model to start from (default models/fmnist-<arch>-fp32.onnx)')
    ap.add_argument('--out-dir', default=os.path.join(ROOT, 'models'))
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    train, test = model_input('train'), model_input('test')
    init = args.init or os.path.join(ROOT, 'models', f'fmnist-{args.arch}-fp32.onnx')

    model = build(args.arch, args.precision)
    init_from_float(model, init, torch.from_numpy(train[0][:2000]))
    print(f'{args.arch} {args.precision} from {os.path.relpath(init, ROOT)}', flush=True)
    epochs = args.epochs or EPOCHS[args.precision]
    seconds = fit(model, train, test, epochs, lr=LEARNING_RATE[args.precision], seed=args.seed)
    accuracy = evaluate(model, *test)
    print(f'PyTorch test accuracy {accuracy:.4f}, trained in {seconds:.0f}s', flush=True)

    stem = os.path.join(args.out_dir, f'fmnist-{args.arch}-{args.precision}')
    x = test[0][:CHECK_IMAGES]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    qonnx_path = stem + '-qonnx.onnx'
    export_qonnx_clean(model, test[0][:1], qonnx_path)
    check_same_predictions(os.path.basename(qonnx_path), run_qonnx(qonnx_path, x), expected)
    if args.precision != 'w1a1':
        qdq_path = stem + ('-qat-qdq.onnx' if (args.arch, args.precision) == ('mlp', 'int4') else '-qdq.onnx')
        onnx.save(convert(onnx.load(qonnx_path)), qdq_path)
        check_same_predictions(os.path.basename(qdq_path), run_ort(qdq_path, x), expected)
    print(f'wrote {stem}-*.onnx')


if __name__ == '__main__':
    main()

"""Trains the float32 Fashion-MNIST models lowbit ships (PyTorch; a Python peer, never run in CI).
The venv is described in scripts/train/README.md.

    nice -n 19 $VENV/bin/python scripts/train/train_fmnist.py --arch mlp --out models/fmnist-mlp-fp32.onnx
    nice -n 19 $VENV/bin/python scripts/train/train_fmnist.py --arch cnn --out models/fmnist-cnn-fp32.onnx

Every model takes float32 [N,1,28,28] = pixel/255 (normalisation lives inside the model) and
returns the 10 class scores as its first output. The exported ONNX files are also the starting
point of the quantization-aware training in train_qat.py.
"""
import argparse

import torch
from torch import nn

from fit import evaluate, fit
from fmnist_data import model_input

MEAN, STD = 0.2860, 0.3530
CNN_CHANNELS = (16, 32, 32)
CNN_HIDDEN = 128


class Normalize(nn.Module):
    def forward(self, x):
        return (x - MEAN) / STD


def mlp():
    return nn.Sequential(Normalize(), nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    """conv3x3(16)-pool-conv3x3(32)-pool-conv3x3(32)-fc(128)-fc(10); BatchNorm after each conv
    (folded into the conv by the ONNX export)."""
    c1, c2, c3 = CNN_CHANNELS

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(Normalize(), *block(1, c1), nn.MaxPool2d(2), *block(c1, c2), nn.MaxPool2d(2),
                         *block(c2, c3), nn.Flatten(), nn.Linear(c3 * 7 * 7, CNN_HIDDEN), nn.ReLU(),
                         nn.Linear(CNN_HIDDEN, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["mlp", "cnn"], required=True)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    train, test = model_input("train"), model_input("test")

    model = mlp() if args.arch == "mlp" else cnn()
    epochs = args.epochs or (15 if args.arch == "mlp" else 8)
    seconds = fit(model, train, test, epochs, lr=3e-3, seed=args.seed)

    model.eval()
    torch.onnx.export(model, torch.from_numpy(test[0][:1]), args.out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    print(f"wrote {args.out}: test accuracy {evaluate(model, *test):.4f}, trained in {seconds:.0f}s")


if __name__ == "__main__":
    main()

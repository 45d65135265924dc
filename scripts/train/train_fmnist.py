"""Trains the Fashion-MNIST models lowbit ships (PyTorch; a Python peer, never run in CI).

    .venv/bin/python scripts/train/train_fmnist.py --arch mlp --precision fp32 --out models/fmnist-mlp-fp32.onnx

Every model takes float32 [N,1,28,28] = pixel/255 (normalisation lives inside the model) and
returns the 10 class scores as its first output.
"""
import argparse
import time

import numpy as np
import torch
from torch import nn

from fmnist_data import load

MEAN, STD = 0.2860, 0.3530


class Normalize(nn.Module):
    def forward(self, x):
        return (x - MEAN) / STD


def mlp():
    return nn.Sequential(Normalize(), nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(Normalize(), *block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                         *block(64, 64), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def batches(x, y, bs, shuffle, rng):
    idx = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for i in range(0, len(x), bs):
        j = idx[i:i + bs]
        yield torch.from_numpy(x[j]), torch.from_numpy(y[j])


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in batches(x, y, 1000, False, None):
            correct += (model(xb).argmax(1) == yb).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["mlp", "cnn"], required=True)
    ap.add_argument("--precision", choices=["fp32"], default="fp32")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    xtr, ytr = load("train")
    xte, yte = load("test")
    prep = lambda a: (a.astype(np.float32) / 255.0)[:, None, :, :]
    xtr, xte = prep(xtr), prep(xte)
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)

    model = mlp() if args.arch == "mlp" else cnn()
    epochs = args.epochs or (15 if args.arch == "mlp" else 8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(xtr) + 127) // 128))
    loss_fn = nn.CrossEntropyLoss()
    for ep in range(epochs):
        model.train()
        t0, total = time.time(), 0.0
        for xb, yb in batches(xtr, ytr, 128, True, rng):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep + 1}/{epochs}: loss {total / len(xtr):.4f}  test acc {acc:.4f}  ({time.time() - t0:.0f}s)", flush=True)

    model.eval()
    torch.onnx.export(model, torch.from_numpy(xte[:1]), args.out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    print(f"wrote {args.out}: test accuracy {evaluate(model, xte, yte):.4f}")


if __name__ == "__main__":
    main()

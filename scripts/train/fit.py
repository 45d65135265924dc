"""The training loop shared by train_fmnist.py (float) and train_qat.py (quantization-aware)."""
import time

import numpy as np
import torch
from torch import nn

# Training shares a 2-core machine: one thread, and run it under `nice -n 19`.
torch.set_num_threads(1)


def batches(x, y, bs, rng=None):
    idx = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for i in range(0, len(x), bs):
        j = idx[i:i + bs]
        yield torch.from_numpy(x[j]), torch.from_numpy(y[j])


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in batches(x, y, 1000):
            correct += (model(xb).argmax(1) == yb).sum().item()
    return correct / len(x)


def fit(model, train, test, epochs, lr, seed, batch=128, weight_decay=1e-4):
    """AdamW with a one-cycle schedule; prints one line per epoch (loss, test accuracy, seconds).
    Returns the total training time in seconds."""
    (xtr, ytr), (xte, yte) = train, test
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    start = time.time()
    for ep in range(epochs):
        model.train()
        t0, total = time.time(), 0.0
        for xb, yb in batches(xtr, ytr, batch, rng):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep + 1}/{epochs}: loss {total / len(xtr):.4f}  test acc {acc:.4f}  ({time.time() - t0:.0f}s)",
              flush=True)
    return time.time() - start

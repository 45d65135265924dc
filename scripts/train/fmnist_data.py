"""Fashion-MNIST from Debian's dataset-fashion-mnist package (idx.gz files), as numpy arrays."""
import gzip
import struct

import numpy as np

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 0x803:
        n, h, w = struct.unpack(">III", data[4:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)
    if magic == 0x801:
        return np.frombuffer(data, np.uint8, offset=8)
    raise ValueError(f"{path}: not an idx file")


def load(split, root=DEBIAN_DIR):
    """Returns (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 'test'."""
    prefix = "train" if split == "train" else "t10k"
    return _idx(f"{root}/{prefix}-images-idx3-ubyte.gz"), _idx(f"{root}/{prefix}-labels-idx1-ubyte.gz")


def model_input(split, root=DEBIAN_DIR):
    """The split as every lowbit Fashion-MNIST model takes it: float32 [N,1,28,28] = pixel/255, and
    int64 labels [N]."""
    images, labels = load(split, root)
    return (images.astype(np.float32) / 255.0)[:, None, :, :], labels.astype(np.int64)

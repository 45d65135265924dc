"""Writes test/fixtures/npy/: .npy files as NumPy writes them, for test/cli/npy.test.ts.

Python peer, never run by the tests:  .venv/bin/python scripts/make-npy-fixtures.py
manifest.json lists each file's dtype (lowbit's name), shape and little-endian C-order bytes (hex),
or the error lowbit must give (files it does not read).
"""
import io
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "npy"
TYPES = {
    "<f4": "float32", "<f8": "float64", "<f2": "float16", "|i1": "int8", "|u1": "uint8", "<i2": "int16",
    "<u2": "uint16", "<i4": "int32", "<u4": "uint32", "<i8": "int64", "<u8": "uint64", "|b1": "bool",
}


def values(dtype, shape):
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        return (np.arange(n) % 3 == 0).reshape(shape)
    if dt.kind == "f":
        a = (np.arange(n) - n // 2) * 0.37
        if n >= 4:
            a[:4] = [np.nan, np.inf, -np.inf, -0.0]
        return a.astype(dt).reshape(shape)
    info = np.iinfo(dt)
    a = np.array([(i * 37 - n // 2) % 100 for i in range(n)], dtype=object)
    if n >= 2:
        a[0], a[-1] = info.min, info.max
    return np.array(list(a), dtype=dt).reshape(shape)


def save(name, arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    (OUT / name).write_bytes(buf.getvalue())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    cases = [(d, s) for d in TYPES for s in [(2, 3)]] + [("<f4", ()), ("<f4", (5,)), ("<f4", (0, 3)), ("<i8", (2, 2, 3))]
    for dtype, shape in cases:
        arr = values(dtype, shape)
        name = f"{TYPES[dtype]}_{'x'.join(map(str, shape)) or 'scalar'}.npy"
        save(name, arr)
        manifest[name] = {"type": TYPES[dtype], "dims": list(shape), "hex": arr.astype(arr.dtype.newbyteorder("<")).tobytes().hex()}
    for version in [(2, 0), (3, 0)]:
        arr = values("<f4", (3, 4))
        name = f"float32_3x4_v{version[0]}.npy"
        save(name, arr, version)
        manifest[name] = {"type": "float32", "dims": [3, 4], "hex": arr.tobytes().hex()}
    save("big_endian.npy", values(">f4", (2, 2)))
    manifest["big_endian.npy"] = {"error": "big-endian"}
    save("fortran.npy", np.asfortranarray(values("<f4", (2, 3))))
    manifest["fortran.npy"] = {"error": "Fortran-order"}
    save("complex.npy", np.zeros((2,), dtype=np.complex64))
    manifest["complex.npy"] = {"error": "dtype '<c8' is not supported"}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()

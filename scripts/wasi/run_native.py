"""Runs the WASI command under a native runtime, for test/wasi/native.test.ts (Python peer).

Reads JSON on stdin: {"module": path, "simd": bool, "dir": path, "runs": [[arg, ...], ...]} and
prints one JSON list of {"code", "stdout", "stderr"} — code is the exit status, or "trap: ..."
when the module trapped. Each run gets a fresh instance with `dir` preopened as '.'.
wasmtime (PyPI) runs it; with "simd": false the engine has SIMD disabled, so a module using
any SIMD instruction fails to compile.
"""

import json
import os
import sys
import tempfile

import wasmtime


def main() -> None:
    spec = json.load(sys.stdin)
    config = wasmtime.Config()
    config.wasm_relaxed_simd = False
    config.wasm_simd = bool(spec["simd"])
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, spec["module"])
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        for args in spec["runs"]:
            wasi = wasmtime.WasiConfig()
            wasi.argv = ["lowbit.wasi.wasm", *args]
            wasi.preopen_dir(spec["dir"], ".")
            wasi.stdout_file = out_path
            wasi.stderr_file = err_path
            store = wasmtime.Store(engine)
            store.set_wasi(wasi)
            instance = linker.instantiate(store, module)
            try:
                instance.exports(store)["_start"](store)
                code = 0
            except wasmtime.ExitTrap as e:
                code = e.code
            except wasmtime.Trap as e:
                code = f"trap: {e}"
            with open(out_path, encoding="utf-8") as f:
                stdout = f.read()
            with open(err_path, encoding="utf-8") as f:
                stderr = f.read()
            results.append({"code": code, "stdout": stdout, "stderr": stderr})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

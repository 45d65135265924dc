"""Runs the scalar WASI command under wasm3, a no-SIMD interpreter (PyPI pywasm3), for
test/wasi/native.test.ts (Python peer). Same JSON interface as run_native.py (no "simd" key).

pywasm3's Python API has no WASI, so the few preview1 calls the command imports are provided
here: args, stdout/stderr, and files under one preopened directory (fd 3, named '.').
"""

import json
import os
import struct
import sys

import wasm3

ERRNO_BADF, ERRNO_NOENT, ERRNO_NOTCAPABLE = 8, 44, 76


class Exit(Exception):
    pass


def run(module_bytes: bytes, root: str, args: list) -> dict:
    env = wasm3.Environment()
    rt = env.new_runtime(1 << 20)
    mod = env.parse_module(module_bytes)
    rt.load(mod)
    argv = [a.encode() + b"\0" for a in ["lowbit.wasi.wasm", *args]]
    files = {}
    out = {1: bytearray(), 2: bytearray()}
    state = {"code": None}

    def mem():
        return rt.get_memory(0)

    def put(fmt, at, *vals):
        struct.pack_into(fmt, mem(), at, *vals)

    def get(fmt, at):
        return struct.unpack_from(fmt, mem(), at)

    def args_sizes_get(argc, size):
        put("<II", argc, len(argv), 0)
        put("<I", size, sum(len(a) for a in argv))
        return 0

    def args_get(ptrs, buf):
        for i, a in enumerate(argv):
            put("<I", ptrs + 4 * i, buf)
            mem()[buf:buf + len(a)] = a
            buf += len(a)
        return 0

    def fd_prestat_get(fd, buf):
        if fd != 3:
            return ERRNO_BADF
        put("<II", buf, 0, 1)
        return 0

    def fd_prestat_dir_name(fd, path, n):
        if fd != 3:
            return ERRNO_BADF
        mem()[path:path + 1] = b"."
        return 0

    def path_open(dirfd, _flags, path, n, oflags, _rb, _ri, _fdflags, fd_out):
        rel = bytes(mem()[path:path + n]).decode()
        if dirfd != 3 or rel.startswith("/") or ".." in rel.split("/"):
            return ERRNO_NOTCAPABLE
        full = os.path.join(root, rel)
        try:
            f = open(full, "wb") if oflags & 1 else open(full, "rb")
        except FileNotFoundError:
            return ERRNO_NOENT
        fd = 10 + len(files)
        files[fd] = f
        put("<I", fd_out, fd)
        return 0

    def fd_filestat_get(fd, buf):
        if fd not in files:
            return ERRNO_BADF
        st = os.fstat(files[fd].fileno())
        mem()[buf:buf + 64] = bytes(64)
        put("<B", buf + 16, 4)
        put("<Q", buf + 32, st.st_size)
        return 0

    def fd_read(fd, iovs, count, nread):
        total = 0
        for i in range(count):
            p, n = get("<II", iovs + 8 * i)
            data = files[fd].read(n)
            mem()[p:p + len(data)] = data
            total += len(data)
        put("<I", nread, total)
        return 0

    def fd_write(fd, iovs, count, nwritten):
        total = 0
        for i in range(count):
            p, n = get("<II", iovs + 8 * i)
            data = bytes(mem()[p:p + n])
            if fd in out:
                out[fd] += data
            else:
                files[fd].write(data)
            total += n
        put("<I", nwritten, total)
        return 0

    def fd_close(fd):
        f = files.pop(fd, None)
        if f:
            f.close()
        return 0

    def proc_exit(code):
        state["code"] = code
        raise Exit()

    for name, sig, fn in [
        ("args_sizes_get", "i(ii)", args_sizes_get), ("args_get", "i(ii)", args_get),
        ("fd_prestat_get", "i(ii)", fd_prestat_get), ("fd_prestat_dir_name", "i(iii)", fd_prestat_dir_name),
        ("path_open", "i(iiiiiIIii)", path_open), ("fd_filestat_get", "i(ii)", fd_filestat_get),
        ("fd_read", "i(iiii)", fd_read), ("fd_write", "i(iiii)", fd_write), ("fd_close", "i(i)", fd_close),
        ("proc_exit", "v(i)", proc_exit),
    ]:
        mod.link_function("wasi_snapshot_preview1", name, sig, fn)
    try:
        rt.find_function("_start")()
        code = 0
    except Exception as e:  # proc_exit unwinds through the interpreter as an error
        code = state["code"] if state["code"] is not None else f"trap: {e}"
    for f in files.values():
        f.close()
    return {"code": code, "stdout": out[1].decode(), "stderr": out[2].decode()}


def main() -> None:
    spec = json.load(sys.stdin)
    with open(spec["module"], "rb") as f:
        module_bytes = f.read()
    json.dump([run(module_bytes, spec["dir"], args) for args in spec["runs"]], sys.stdout)


if __name__ == "__main__":
    main()

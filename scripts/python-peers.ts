// `npm test`'s set-up (the `pretest` script): the Python peers some tests drive, in the repo's
// .venv from PyPI. lowbit never runs Python itself; these check it from outside:
// - wasmtime: runs the WASI command (test/wasi/native.test.ts);
// - onnx, numpy: bench/lib/qonnx_to_float.py turns QONNX models into standard float ONNX for
//   onnxruntime (test/bench.test.ts);
// - pywasm3 (optional; built from source): a no-SIMD interpreter for the scalar WASI build — without
//   it that build is checked under wasmtime with SIMD disabled.
// Quick when everything is there: one `import` check.

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../..');
const python = join(root, '.venv/bin/python');
const REQUIRED = [{ pip: 'wasmtime', mod: 'wasmtime' }, { pip: 'onnx', mod: 'onnx' }, { pip: 'numpy', mod: 'numpy' }];
const OPTIONAL = [{ pip: 'pywasm3', mod: 'wasm3' }];

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] }).status === 0;
const has = (mod: string) => spawnSync(python, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;

function install(pkgs: { pip: string }[]): boolean {
  const names = pkgs.map((p) => p.pip);
  process.stderr.write(`pretest: installing the Python test peers ${names.join(', ')} into .venv (PyPI)…\n`);
  return run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...names]);
}

if (!existsSync(python)) {
  process.stderr.write('pretest: creating .venv for the Python test peers…\n');
  if (!run('python3', ['-m', 'venv', '.venv'])) {
    process.stderr.write('pretest: WARNING: python3 -m venv failed; the WASI runtime and QONNX bench tests will fail (needs python3-venv)\n');
    process.exit(0);
  }
}
const missing = REQUIRED.filter((p) => !has(p.mod));
if (missing.length && !install(missing)) {
  process.stderr.write(`pretest: WARNING: could not install ${missing.map((p) => p.pip).join(', ')}; the tests that need them will fail\n`);
}
// A failed optional build is remembered, so that every later `npm test` does not retry it.
const failedMark = join(root, '.venv/.optional-peers-failed');
const optional = OPTIONAL.filter((p) => !has(p.mod));
if (optional.length && !existsSync(failedMark) && !install(optional)) {
  writeFileSync(failedMark, `${optional.map((p) => p.pip).join(' ')}\n`);
  process.stderr.write('pretest: pywasm3 did not install: the scalar WASI build is checked under wasmtime without SIMD only\n');
}

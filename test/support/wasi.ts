// Runs the WASI command (build/lowbit.wasi*.wasm) under Node's node:wasi in this process, with
// `dir` preopened as '.', and returns its exit code and what it printed.
//
// Node 20's node:wasi aborts the process (measured: `Assertion failed: current_uvwasi_memory_ ==
// 0` in ~WASI) when a garbage collection that runs inside one instance's WASI call destroys an
// earlier WASI object — a few dozen runs of a plan with a multi-MB arena trigger it. Collecting
// after every run, outside any WASI call, avoids it (200 runs, measured).

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WASI } from 'node:wasi';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

export type WasiFlavour = 'simd' | 'scalar';

const modules = new Map<WasiFlavour, WebAssembly.Module>();

export function wasiModuleFile(flavour: WasiFlavour): URL {
  return new URL(`../../build/lowbit.wasi${flavour === 'simd' ? '' : '.scalar'}.wasm`, import.meta.url);
}

function wasiModule(flavour: WasiFlavour): WebAssembly.Module {
  let m = modules.get(flavour);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(wasiModuleFile(flavour)));
    modules.set(flavour, m);
  }
  return m;
}

export interface WasiResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runWasi(flavour: WasiFlavour, dir: string, args: readonly string[]): WasiResult {
  const io = mkdtempSync(join(tmpdir(), 'lowbit-wasi-io-'));
  const outFd = openSync(join(io, 'out'), 'w');
  const errFd = openSync(join(io, 'err'), 'w');
  try {
    const wasi = new WASI({
      version: 'preview1', args: ['lowbit.wasi.wasm', ...args], preopens: { '.': dir }, returnOnExit: true,
      stdout: outFd, stderr: errFd,
    });
    const instance = new WebAssembly.Instance(wasiModule(flavour), wasi.getImportObject() as WebAssembly.Imports);
    const code = wasi.start(instance);
    return { code, stdout: readFileSync(join(io, 'out'), 'utf8'), stderr: readFileSync(join(io, 'err'), 'utf8') };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    rmSync(io, { recursive: true, force: true });
    collect();
  }
}

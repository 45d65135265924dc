// Runs the WASI command (build/lowbit.wasi*.wasm) under Node's node:wasi in this process, with
// `dir` preopened as '.', and returns its exit code and what it printed.

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

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
  }
}

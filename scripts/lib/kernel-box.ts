// Direct access to a kernel build: allocate, write, call, read (kernel tests and kernel benchmarks).
// Tests use the test builds (build/test/: the runtime kernels plus the `*__ref` references);
// benchmarks time the runtime builds the package ships.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine, alignUp } from '../../src/kernels/machine.js';
import type { Backend } from '../../src/kernels/wasm.js';

export type KernelBuild = 'test' | 'runtime';

const modules = new Map<string, WebAssembly.Module>();

export function kernelModule(b: Backend, build: KernelBuild = 'test'): WebAssembly.Module {
  const file = build === 'test' ? `test/lowbit.${b}.wasm` : `lowbit.${b}.wasm`;
  let m = modules.get(file);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(fileURLToPath(new URL(`../../build/${file}`, import.meta.url))));
    modules.set(file, m);
  }
  return m;
}

/** A kernel instance with a bump allocator over its memory. */
export class KernelBox {
  readonly m: Machine;
  private top: number;
  constructor(readonly backend: Backend, build: KernelBuild = 'test') {
    this.m = new Machine(kernelModule(backend, build), backend);
    this.top = this.m.heapBase;
  }
  reset(): void {
    this.top = this.m.heapBase;
  }
  alloc(bytes: number): number {
    const a = this.top;
    this.top = alignUp(a + Math.max(bytes, 1));
    this.m.ensure(this.top);
    return a;
  }
  put(data: ArrayBufferView): number {
    const a = this.alloc(data.byteLength);
    this.m.u8().set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), a);
    return a;
  }
  f32(addr: number, n: number): Float32Array {
    return new Float32Array(this.m.read(addr, n * 4).buffer);
  }
  i32(addr: number, n: number): Int32Array {
    return new Int32Array(this.m.read(addr, n * 4).buffer);
  }
  u8(addr: number, n: number): Uint8Array {
    return this.m.read(addr, n);
  }
  call(name: string, ...args: number[]): number | undefined {
    return this.m.kernel(name)(...args);
  }
}

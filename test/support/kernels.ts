// Direct access to the kernel builds for kernel tests: allocate, write, call, read.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine, alignUp } from '../../src/kernels/machine.js';
import type { Backend } from '../../src/kernels/wasm.js';

export const ALL_BACKENDS: Backend[] = ['scalar', 'simd', 'relaxed'];

const modules = new Map<Backend, WebAssembly.Module>();

export function kernelModule(b: Backend): WebAssembly.Module {
  let m = modules.get(b);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(fileURLToPath(new URL(`../../build/lowbit.${b}.wasm`, import.meta.url))));
    modules.set(b, m);
  }
  return m;
}

/** A kernel instance with a bump allocator over its memory. */
export class KernelBox {
  readonly m: Machine;
  private top: number;
  constructor(readonly backend: Backend) {
    this.m = new Machine(kernelModule(backend), backend);
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

/** Deterministic PRNG (mulberry32) so failures print a seed that reproduces them. */
export { seededRandom as rng } from '../../scripts/lib/random-models.js';

export function randomF32(r: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** Sizes around a tile: below, equal, above and multiples (XNNPACK/ggml-style length cases). */
export function sizesAround(tile: number, extra: number[] = []): number[] {
  return [...new Set([1, 2, 3, tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile, 2 * tile + 1, 3 * tile + 3, ...extra])].filter((x) => x > 0).sort((a, b) => a - b);
}

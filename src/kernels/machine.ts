// One kernel instance with its own linear memory, and the host's view of that memory.
//
// Layout of linear memory:
//   [0, heapBase)            the module's static data
//   [heapBase, weightsTop)   session constants: uploaded initializers, pre-packed weights
//   [planBase, planTop)      the bound plan: parameter blocks, then the activation arena
//   [scratchBase, ...)       temporary space while planning (constant folding)
// Growth is checked against a ceiling before memory.grow: growing past the module maximum traps.

import { fail } from '../errors.js';
import { MAX_ELEMENTS } from '../ir/tensor.js';
import type { Backend } from './wasm.js';

export type KernelFn = (...args: number[]) => number | undefined;

const PAGE = 65536;
export const ALIGN = 64;
export const DEFAULT_MEMORY_LIMIT = 3 * 1024 ** 3;
/** wasm32 addresses 4 GiB; memory.grow to exactly 4 GiB already fails in some engines. */
export const MAX_MEMORY_LIMIT = 4 * 1024 ** 3 - PAGE;

export function alignUp(n: number, a = ALIGN): number {
  return Math.ceil(n / a) * a;
}

export class Machine {
  readonly backend: Backend;
  readonly memory: WebAssembly.Memory;
  readonly heapBase: number;
  readonly memoryLimit: number;
  /** Largest element count of one tensor this instance plans (option maxTensorElements). */
  readonly maxElements: number;
  private readonly exports: Record<string, unknown>;
  private u8cache: Uint8Array;

  constructor(module: WebAssembly.Module, backend: Backend, memoryLimit = DEFAULT_MEMORY_LIMIT, maxElements = MAX_ELEMENTS) {
    const instance = new WebAssembly.Instance(module, {});
    this.exports = instance.exports as Record<string, unknown>;
    this.memory = this.exports.memory as WebAssembly.Memory;
    this.backend = backend;
    this.memoryLimit = Math.min(memoryLimit, MAX_MEMORY_LIMIT);
    this.maxElements = maxElements;
    this.heapBase = alignUp((this.exports.heap_base as () => number)());
    this.u8cache = new Uint8Array(this.memory.buffer);
  }

  kernel(name: string): KernelFn {
    const f = this.exports[name];
    if (typeof f !== 'function') fail('LOWBIT_WASM', `kernel module has no export '${name}'`);
    return f as KernelFn;
  }

  hasKernel(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Makes [0, end) addressable, growing memory if needed; refuses to pass the ceiling. */
  ensure(end: number): void {
    if (end > this.memoryLimit) {
      fail('LOWBIT_LIMIT', `needs ${fmtBytes(end)} of WASM memory, over the limit of ${fmtBytes(this.memoryLimit)} (option memoryLimit)`);
    }
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch (e) {
      fail('LOWBIT_OUT_OF_MEMORY', `cannot grow WASM memory to ${fmtBytes(end)}: ${(e as Error).message}`, e);
    }
  }

  /** A fresh byte view (views die when memory grows, so never keep one across kernel calls). */
  u8(): Uint8Array {
    // memory.grow detaches the old buffer, and a view of a detached buffer has length 0 (memory
    // is never empty): no call of the buffer getter while the view is live.
    if (this.u8cache.byteLength === 0) this.u8cache = new Uint8Array(this.memory.buffer);
    return this.u8cache;
  }

  write(addr: number, bytes: Uint8Array): void {
    this.ensure(addr + bytes.byteLength);
    this.u8().set(bytes, addr);
  }

  read(addr: number, n: number): Uint8Array {
    return this.u8().slice(addr, addr + n);
  }
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

// Session constants in the W region: initializers uploaded on first use, and constants derived
// from them (pre-packed weights), each stored once per session.

import { alignUp, type Machine } from '../kernels/machine.js';

export class WeightStore {
  private readonly offsets = new Map<string, number>();
  private readonly sizes = new Map<string, number>();
  private end = 0;

  constructor(private readonly machine: Machine) {}

  get size(): number {
    return this.end;
  }

  /** Absolute address of W offset `o`. */
  addr(o: number): number {
    return this.machine.heapBase + o;
  }

  get(key: string): number | undefined {
    return this.offsets.get(key);
  }

  put(key: string, bytes: Uint8Array): number {
    const have = this.offsets.get(key);
    if (have !== undefined) return have;
    const o = this.alloc(key, bytes.byteLength);
    this.machine.write(this.addr(o), bytes);
    return o;
  }

  alloc(key: string, n: number): number {
    const o = this.end;
    this.machine.ensure(this.addr(o) + n);
    this.end = alignUp(o + Math.max(n, 1));
    this.offsets.set(key, o);
    this.sizes.set(key, n);
    return o;
  }

  /** What is held (for inspect): key, W offset and size in bytes (before alignment). */
  entries(): { key: string; offset: number; bytes: number }[] {
    return [...this.offsets.entries()].map(([key, offset]) => ({ key, offset, bytes: this.sizes.get(key)! }));
  }
}

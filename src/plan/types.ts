// The Plan: an immutable, serialisable list of kernel calls over three memory regions.

import type { DType } from '../ir/dtype.js';

/**
 * Memory regions a step argument can point into:
 * - W: session constants (uploaded initializers, pre-packed weights), offset from the heap base;
 * - P: the plan's own constant blob (parameter blocks, plan-time constants);
 * - A: the plan's activation arena.
 */
export type Region = 'W' | 'P' | 'A';

export interface Ref {
  readonly r: Region;
  readonly o: number;
}

/** A kernel argument: an immediate (i32 or f32 by the kernel's signature) or an address. */
export type Arg = number | Ref;

export interface Step {
  readonly kernel: string;
  readonly args: readonly Arg[];
  /** The IR node this step implements (for errors and inspect). */
  readonly node: string;
}

export interface IOSlot {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly ref: Ref;
  readonly bytes: number;
}

export interface Plan {
  readonly steps: readonly Step[];
  readonly params: Uint8Array;
  readonly arenaBytes: number;
  /** Size of the W region this plan's W references assume. */
  readonly weightsBytes: number;
  readonly inputs: readonly IOSlot[];
  readonly outputs: readonly IOSlot[];
  /** Every arena buffer with its placement and live range in steps (-1 = before the first). */
  readonly buffers: readonly { offset: number; bytes: number; first: number; last: number }[];
}

export function isRef(a: Arg): a is Ref {
  return typeof a === 'object';
}

// What an operator implementation sees: concrete input types/shapes (plans are specialised to
// the bound input shapes), known values, attributes, and a way to emit kernel calls.
//
// The same `infer` + `lower` code serves the planner (emits steps into a Plan) and the
// constant folder (runs the steps at once on scratch memory).

import { fail, type LowbitErrorCode } from '../errors.js';
import { isByteAddressable, isInteger, type DType } from '../ir/dtype.js';
import { nodeLabel, type AttrValue, type Node } from '../ir/graph.js';
import { toNumbers, type TensorData } from '../ir/tensor.js';

/** An address in kernel memory, opaque to operators: pass it to step() or offset it. */
export interface Addr {
  readonly __addr: true;
}

/** A kernel argument: an address or an immediate (i32 or f32 per the kernel's signature). */
export type KArg = Addr | number;

export type Backend = 'scalar' | 'simd' | 'relaxed';

export interface OpCtx {
  readonly node: Node;
  readonly opset: number;
  readonly backend: Backend;

  /** Number of input slots (trailing omitted inputs included when named ''). */
  readonly numInputs: number;
  has(i: number): boolean;
  dtype(i: number): DType;
  dims(i: number): readonly number[];
  /** The input's value when known at plan time (constants, folded values, value-keyed feeds). */
  value(i: number): TensorData | undefined;
  /** The input's value, which this op needs to know its output shape. */
  requireValue(i: number, why: string): TensorData;

  readonly numOutputs: number;
  hasOutput(i: number): boolean;
  setOutput(i: number, dtype: DType, dims: readonly number[]): void;
  outDtype(i: number): DType;
  outDims(i: number): readonly number[];

  /** Address of input i (uploads constants as needed). */
  in(i: number): Addr;
  /** Address of output i (allocated on first call). */
  out(i: number): Addr;
  /** Output i has this value, known at plan time (Shape, Size…). */
  constant(out: number, value: TensorData): void;
  /** Output i is input j reinterpreted (same bytes, new shape): no copy. */
  alias(out: number, input: number): void;
  /** Temporary bytes live only while this node's steps run. */
  scratch(bytes: number): Addr;
  /** A constant block (descriptors, tables) placed in memory for the kernels. */
  params(data: Int32Array | Float32Array | Uint8Array): Addr;
  /**
   * A constant derived once from known input i (e.g. weights packed for a kernel), cached by
   * `key`: `build(src, dst)` emits the steps that compute it; they run at plan time.
   */
  derived(i: number, key: string, bytes: number, build: (src: Addr, dst: Addr) => void): Addr;
  offset(a: Addr, bytes: number): Addr;
  step(kernel: string, ...args: KArg[]): void;

  fail(code: LowbitErrorCode, msg: string): never;
}

export interface OpDef {
  /** Sets every output's dtype and dims. */
  infer(ctx: OpCtx): void;
  /** Emits the kernel calls (or aliases) that compute the outputs. */
  lower(ctx: OpCtx): void;
}

// ---- attribute helpers -------------------------------------------------------------------

function attr(ctx: OpCtx, name: string): AttrValue | undefined {
  return ctx.node.attrs.get(name);
}

function wrongType(ctx: OpCtx, name: string, want: string): never {
  ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' must be ${want}`);
}

export function attrInt(ctx: OpCtx, name: string, def: number): number;
export function attrInt(ctx: OpCtx, name: string): number | undefined;
export function attrInt(ctx: OpCtx, name: string, def?: number): number | undefined {
  const a = attr(ctx, name);
  if (!a) return def;
  if (a.type !== 'int') wrongType(ctx, name, 'an int');
  return a.value;
}

export function attrFloat(ctx: OpCtx, name: string, def: number): number {
  const a = attr(ctx, name);
  if (!a) return def;
  if (a.type === 'int') return a.value;
  if (a.type !== 'float') wrongType(ctx, name, 'a float');
  return a.value;
}

export function attrString(ctx: OpCtx, name: string, def: string): string {
  const a = attr(ctx, name);
  if (!a) return def;
  if (a.type !== 'string') wrongType(ctx, name, 'a string');
  return a.value;
}

export function attrInts(ctx: OpCtx, name: string): number[] | undefined {
  const a = attr(ctx, name);
  if (!a) return undefined;
  if (a.type === 'int') return [a.value];
  if (a.type !== 'ints') wrongType(ctx, name, 'a list of ints');
  return a.value;
}

export function attrFloats(ctx: OpCtx, name: string): number[] | undefined {
  const a = attr(ctx, name);
  if (!a) return undefined;
  if (a.type !== 'floats') wrongType(ctx, name, 'a list of floats');
  return a.value;
}

export function attrTensor(ctx: OpCtx, name: string): TensorData | undefined {
  const a = attr(ctx, name);
  if (!a) return undefined;
  if (a.type !== 'tensor') wrongType(ctx, name, 'a tensor');
  return a.value;
}

/** Integer values of a known input (shape tensors, axes, pads…). */
export function intsOf(ctx: OpCtx, i: number, why: string): number[] {
  const t = ctx.requireValue(i, why);
  // Packed 4/2-bit tensors have no typed-array view: ONNX gives these inputs as int32/int64.
  if (!isInteger(t.dtype) || !isByteAddressable(t.dtype)) ctx.fail('LOWBIT_TYPE_MISMATCH', `input ${i} (${why}) must be an integer tensor, got ${t.dtype}`);
  return toNumbers(t);
}

/** Normalises a possibly negative axis against rank r, failing clearly when out of range. */
export function normAxis(ctx: OpCtx, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) ctx.fail('LOWBIT_BAD_MODEL', `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function ctxFail(node: Node, code: LowbitErrorCode, msg: string): never {
  fail(code, `${nodeLabel(node)}: ${msg}`);
}

export interface FusedActivation {
  /** 0 none, 1 relu, 2 clamp to [lo, hi] — the kernels' epilogue codes. */
  act: 0 | 1 | 2;
  lo: number;
  hi: number;
}

/** The activation an `ai.lowbit` Fused* node applies in its epilogue (src/passes/fuse-activation.ts). */
export function fusedActivation(ctx: OpCtx): FusedActivation {
  if (ctx.node.domain !== 'ai.lowbit') return { act: 0, lo: 0, hi: 0 };
  const act = attrInt(ctx, 'activation', 0);
  if (act !== 0 && act !== 1 && act !== 2) ctx.fail('LOWBIT_BAD_MODEL', `activation ${act} is not 0 (none), 1 (relu) or 2 (clamp)`);
  return { act, lo: attrFloat(ctx, 'activation_lo', 0), hi: attrFloat(ctx, 'activation_hi', 0) };
}

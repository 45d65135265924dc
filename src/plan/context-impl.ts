// The two implementations of OpCtx: planning (steps go into a Plan) and immediate execution
// (steps run at once on scratch memory: constant folding and weight pre-packing).

import { fail, LowbitError, type LowbitErrorCode } from '../errors.js';
import { byteLength, type DType } from '../ir/dtype.js';
import { nodeLabel, type Node } from '../ir/graph.js';
import { makeTensor, numel, type TensorData } from '../ir/tensor.js';
import type { Addr, Backend, KArg, OpCtx } from '../ops/context.js';
import { alignUp, type Machine } from '../kernels/machine.js';
import type { Arg, Step } from './types.js';
import type { WeightStore } from './weights.js';

/** Internal form of Addr: W/P/A regions of a plan, B = a plan buffer not yet placed, X = absolute. */
export interface AddrImpl extends Addr {
  readonly r: 'W' | 'P' | 'B' | 'X';
  readonly o: number;
  readonly b: number;
}

export function addr(r: AddrImpl['r'], o: number, b = -1): AddrImpl {
  return { __addr: true, r, o, b };
}

/** A value while planning: its type/shape and where it comes from. */
export interface PValue {
  dtype: DType;
  dims: readonly number[];
  /** Known at plan time. */
  known?: TensorData;
  /** Initializer name, when the value is a session constant. */
  init?: string;
  /** Plan buffer id, when computed at run time. */
  buf?: number;
}

/** Thrown when a node needs the value of a graph input: the planner keys the plan on it. */
export class NeedValue extends Error {
  constructor(readonly input: string) {
    super(`needs the value of input '${input}'`);
  }
}

/** Scratch memory above everything live, for immediate execution. */
export class Scratch {
  private top = 0;
  constructor(readonly machine: Machine, private readonly base: () => number) {}
  reset(): void {
    this.top = 0;
  }
  alloc(n: number): number {
    const a = alignUp(this.base()) + this.top;
    this.machine.ensure(a + n);
    this.top += alignUp(Math.max(n, 1));
    return a;
  }
  /** The current top, to release everything allocated after it. */
  mark(): number {
    return this.top;
  }
  release(mark: number): void {
    this.top = mark;
  }
  upload(bytes: Uint8Array): number {
    const a = this.alloc(bytes.byteLength);
    this.machine.u8().set(bytes, a);
    return a;
  }
}

interface OutInfo {
  dtype: DType;
  dims: readonly number[];
}

abstract class BaseCtx implements OpCtx {
  protected readonly outs: (OutInfo | undefined)[] = [];
  /** When > 0, steps run at once (inside derived()). */
  protected immediate = 0;

  constructor(
    readonly node: Node,
    readonly opset: number,
    readonly backend: Backend,
    protected readonly ins: (PValue | undefined)[],
    protected readonly machine: Machine,
    protected readonly scratchMem: Scratch,
    protected readonly weights: WeightStore,
  ) {}

  get numInputs(): number {
    return this.node.inputs.length;
  }
  has(i: number): boolean {
    return i < this.ins.length && this.ins[i] !== undefined;
  }
  private input(i: number): PValue {
    const v = this.ins[i];
    if (!v) this.fail('LOWBIT_BAD_MODEL', `input ${i} is required but missing`);
    return v;
  }
  dtype(i: number): DType {
    return this.input(i).dtype;
  }
  dims(i: number): readonly number[] {
    return this.input(i).dims;
  }
  value(i: number): TensorData | undefined {
    return this.ins[i]?.known;
  }
  requireValue(i: number, why: string): TensorData {
    const v = this.input(i);
    if (v.known) return v.known;
    return this.missingValue(i, why);
  }
  protected abstract missingValue(i: number, why: string): never;

  get numOutputs(): number {
    return this.node.outputs.length;
  }
  hasOutput(i: number): boolean {
    return i < this.node.outputs.length && this.node.outputs[i] !== '';
  }
  setOutput(i: number, dtype: DType, dims: readonly number[]): void {
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) this.fail('LOWBIT_SHAPE_MISMATCH', `output ${i} would have invalid dimension ${d}`);
    }
    const max = this.machine.maxElements;
    if (numel(dims) > max) this.fail('LOWBIT_LIMIT', `output ${i} shape [${dims.join(',')}] has more than ${max} elements (option maxTensorElements)`);
    this.outs[i] = { dtype, dims: [...dims] };
  }
  outInfo(i: number): OutInfo {
    const o = this.outs[i];
    if (!o) this.fail('LOWBIT_BAD_MODEL', `output ${i} was not inferred`);
    return o;
  }
  outDtype(i: number): DType {
    return this.outInfo(i).dtype;
  }
  outDims(i: number): readonly number[] {
    return this.outInfo(i).dims;
  }
  outBytes(i: number): number {
    const o = this.outInfo(i);
    return byteLength(o.dtype, numel(o.dims));
  }

  offset(a: Addr, bytes: number): Addr {
    const x = a as AddrImpl;
    return addr(x.r, x.o + bytes, x.b);
  }

  fail(code: LowbitErrorCode, msg: string): never {
    fail(code, `${nodeLabel(this.node)}: ${msg}`);
  }

  /** Absolute address for immediate execution. */
  protected absolute(a: AddrImpl): number {
    if (a.r === 'X') return a.o;
    if (a.r === 'W') return this.weights.addr(a.o);
    return this.fail('LOWBIT_RUNTIME', `internal: ${a.r} address used in immediate execution`);
  }

  protected runNow(kernel: string, args: KArg[]): void {
    const fn = this.machine.kernel(kernel);
    const vals = args.map((a) => (typeof a === 'number' ? a : this.absolute(a as AddrImpl)));
    let ret: number | undefined;
    try {
      ret = fn(...vals);
    } catch (e) {
      if (e instanceof LowbitError) throw e;
      this.fail('LOWBIT_RUNTIME', `kernel ${kernel} failed: ${(e as Error).message}`);
    }
    if (ret) this.fail('LOWBIT_BAD_INPUT', `kernel ${kernel} rejected its input (code ${ret}: an index is out of range)`);
  }

  derived(i: number, key: string, bytes: number, build: (src: Addr, dst: Addr) => void): Addr {
    const v = this.input(i);
    if (!v.known) this.fail('LOWBIT_RUNTIME', `internal: derived() on a runtime input ${i}`);
    if (v.init !== undefined) {
      const wkey = `${v.init}#${key}`;
      const have = this.weights.get(wkey);
      if (have !== undefined) return addr('W', have);
      // Only the derived form stays in the session: the source is read from W when something
      // already uploaded it, else from scratch released once the build has run.
      const dst = addr('W', this.weights.alloc(wkey, bytes));
      const mark = this.scratchMem.mark();
      try {
        const inW = this.weights.get(v.init);
        const src = inW !== undefined ? addr('W', inW) : addr('X', this.scratchMem.upload(v.known.bytes));
        this.withImmediate(() => build(src, dst));
      } finally {
        this.scratchMem.release(mark);
      }
      return dst;
    }
    const src = addr('X', this.scratchMem.upload(v.known.bytes));
    const dst = addr('X', this.scratchMem.alloc(bytes));
    this.withImmediate(() => build(src, dst));
    return this.placeConstant(this.machine.read(dst.o, bytes));
  }

  private withImmediate(f: () => void): void {
    this.immediate++;
    try {
      f();
    } finally {
      this.immediate--;
    }
  }

  params(data: Int32Array | Float32Array | Uint8Array): Addr {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.immediate) return addr('X', this.scratchMem.upload(bytes));
    return this.placeConstant(bytes.slice());
  }

  scratch(bytes: number): Addr {
    if (this.immediate) return addr('X', this.scratchMem.alloc(bytes));
    return this.scratchBuffer(bytes);
  }

  step(kernel: string, ...args: KArg[]): void {
    if (this.immediate) this.runNow(kernel, args);
    else this.emit(kernel, args);
  }

  /** Puts constant bytes where the steps can read them. */
  protected abstract placeConstant(bytes: Uint8Array): Addr;
  protected abstract scratchBuffer(bytes: number): Addr;
  protected abstract emit(kernel: string, args: KArg[]): void;
  abstract in(i: number): Addr;
  abstract out(i: number): Addr;
  abstract alias(out: number, input: number): void;
  abstract constant(out: number, value: TensorData): void;
}

/** Builds plan steps; runtime values live in buffers placed later by liveness. */
export class PlanCtx extends BaseCtx {
  readonly produced: (PValue | undefined)[] = [];

  constructor(
    node: Node, opset: number, backend: Backend, ins: (PValue | undefined)[], machine: Machine,
    scratchMem: Scratch, weights: WeightStore,
    private readonly sink: PlanSink,
  ) {
    super(node, opset, backend, ins, machine, scratchMem, weights);
  }

  protected missingValue(i: number, why: string): never {
    const name = this.node.inputs[i];
    if (this.sink.isGraphInput(name)) throw new NeedValue(name);
    this.fail('LOWBIT_UNSUPPORTED', `needs the value of input '${name}' (${why}) before running, but it is computed at run time`);
  }

  in(i: number): Addr {
    const name = this.node.inputs[i];
    const v = this.ins[i];
    if (!v) this.fail('LOWBIT_BAD_MODEL', `input ${i} is required but missing`);
    if (v.buf !== undefined) return addr('B', 0, v.buf);
    if (v.init !== undefined && v.known) return addr('W', this.weights.put(v.init, v.known.bytes));
    if (v.known) return this.sink.constantOf(name, v.known);
    return this.fail('LOWBIT_RUNTIME', `internal: input ${i} has no storage`);
  }

  out(i: number): Addr {
    let p = this.produced[i];
    if (!p) {
      const o = this.outInfo(i);
      p = { dtype: o.dtype, dims: o.dims, buf: this.sink.newBuffer(this.outBytes(i)) };
      this.produced[i] = p;
    }
    if (p.buf === undefined) this.fail('LOWBIT_RUNTIME', `internal: output ${i} is an alias of a constant`);
    return addr('B', 0, p.buf);
  }

  constant(out: number, value: TensorData): void {
    this.produced[out] = { dtype: value.dtype, dims: value.dims, known: value };
  }

  alias(out: number, input: number): void {
    const v = this.ins[input];
    const o = this.outInfo(out);
    if (!v) this.fail('LOWBIT_BAD_MODEL', `input ${input} is required but missing`);
    if (v.buf !== undefined) this.produced[out] = { dtype: o.dtype, dims: o.dims, buf: v.buf };
    else if (v.known) this.produced[out] = { dtype: o.dtype, dims: o.dims, known: { dtype: o.dtype, dims: o.dims, bytes: v.known.bytes }, init: v.init };
  }

  protected placeConstant(bytes: Uint8Array): Addr {
    return this.sink.constant(bytes);
  }
  protected scratchBuffer(bytes: number): Addr {
    return addr('B', 0, this.sink.newBuffer(bytes));
  }
  protected emit(kernel: string, args: KArg[]): void {
    this.sink.emit({ kernel, args: args as unknown as Arg[], node: this.node.name });
  }
}

/** What the planner provides to PlanCtx. */
export interface PlanSink {
  isGraphInput(name: string): boolean;
  newBuffer(bytes: number): number;
  constant(bytes: Uint8Array): Addr;
  constantOf(name: string, t: TensorData): Addr;
  emit(step: Step): void;
}

/** Runs a node at once on scratch memory: constant folding. */
export class EagerCtx extends BaseCtx {
  private readonly outAddr: (number | undefined)[] = [];
  private readonly aliased: (TensorData | undefined)[] = [];

  protected missingValue(i: number, why: string): never {
    this.fail('LOWBIT_RUNTIME', `internal: constant folding without the value of input ${i} (${why})`);
  }

  in(i: number): Addr {
    const v = this.ins[i];
    if (!v?.known) this.fail('LOWBIT_BAD_MODEL', `input ${i} is required but missing`);
    return addr('X', this.scratchMem.upload(v.known.bytes));
  }
  out(i: number): Addr {
    let a = this.outAddr[i];
    if (a === undefined) {
      a = this.scratchMem.alloc(this.outBytes(i));
      this.outAddr[i] = a;
    }
    return addr('X', a);
  }
  constant(out: number, value: TensorData): void {
    this.aliased[out] = value;
  }

  alias(out: number, input: number): void {
    const v = this.ins[input];
    const o = this.outInfo(out);
    if (!v?.known) this.fail('LOWBIT_BAD_MODEL', `input ${input} is required but missing`);
    this.aliased[out] = { dtype: o.dtype, dims: o.dims, bytes: v.known.bytes };
  }
  protected placeConstant(bytes: Uint8Array): Addr {
    return addr('X', this.scratchMem.upload(bytes));
  }
  protected scratchBuffer(bytes: number): Addr {
    return addr('X', this.scratchMem.alloc(bytes));
  }
  protected emit(kernel: string, args: KArg[]): void {
    this.runNow(kernel, args);
  }

  results(): (TensorData | undefined)[] {
    return this.node.outputs.map((name, i) => {
      if (name === '' || !this.outs[i]) return undefined;
      const al = this.aliased[i];
      if (al) return al;
      const o = this.outInfo(i);
      const a = this.outAddr[i];
      const n = this.outBytes(i);
      return makeTensor(o.dtype, o.dims, a === undefined ? new Uint8Array(n) : this.machine.read(a, n));
    });
  }
}

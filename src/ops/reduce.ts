// ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp on the one strided reduce kernel
// (assembly/reduce.ts). Axes come from the `axes` attribute before the opset that moved them to
// input 1 (ReduceSum 13, the others 18); empty or absent axes mean every axis, unless
// noop_with_empty_axes is set, in which case nothing is reduced (t and fin still apply:
// ReduceSumSquare squares, ReduceL2 takes |x|).

import { dtypeCode, type DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrInt, attrInts, intsOf, normAxis, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { fmtDims, stridesOf } from './shape-util.js';

// Op codes of assembly/reduce.ts.
const R = { SUM: 0, MEAN: 1, MAX: 2, MIN: 3, PROD: 4, SUMSQUARE: 5, L1: 6, L2: 7, LOGSUM: 8, LOGSUMEXP: 9 } as const;

const FLOATS: DType[] = ['float32', 'float64'];
const WIDE_INTS: DType[] = ['int32', 'int64', 'uint32', 'uint64'];
/** Exact integer arithmetic (wrapping like onnxruntime's) covers these; log/sqrt ops stay float. */
const ARITH = new Set<DType>([...FLOATS, ...WIDE_INTS]);
const FLOAT_ONLY = new Set<DType>(FLOATS);
/** ReduceMax/Min also take 8-bit integers (opset 18) and bool (opset 20). */
const ORDERED = new Set<DType>([...FLOATS, ...WIDE_INTS, 'int8', 'uint8', 'bool']);

/** The normalised, sorted axes to reduce ([] = none). */
export function reducedAxes(ctx: OpCtx, axesInputSince: number): number[] {
  const rank = ctx.dims(0).length;
  let axes: number[] | undefined;
  if (ctx.opset >= axesInputSince) {
    if (ctx.has(1)) axes = intsOf(ctx, 1, 'the axes to reduce');
  } else {
    axes = attrInts(ctx, 'axes');
  }
  if (!axes || axes.length === 0) {
    const noop = ctx.opset >= axesInputSince && attrInt(ctx, 'noop_with_empty_axes', 0) !== 0;
    return noop ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  const norm = axes.map((a) => normAxis(ctx, a, rank));
  if (new Set(norm).size !== norm.length) ctx.fail('LOWBIT_BAD_MODEL', `axes ${fmtDims(axes)} repeat an axis`);
  return norm.sort((a, b) => a - b);
}

/**
 * Descriptor of assembly/reduce.ts: [nk, keptDims, keptStrides, nr, redDims, redStrides] after
 * dropping size-1 dims and merging neighbouring axes of the same kind (input is contiguous).
 */
export function reduceDescriptor(dims: readonly number[], reduced: readonly number[]): Int32Array {
  const strides = stridesOf(dims);
  const kept: [number, number][] = [];
  const red: [number, number][] = [];
  let lastKind: 'k' | 'r' | undefined;
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const kind = reduced.includes(i) ? 'r' : 'k';
    const list = kind === 'r' ? red : kept;
    if (kind === lastKind) {
      const last = list[list.length - 1];
      last[0] *= dims[i];
      last[1] = strides[i];
    } else {
      list.push([dims[i], strides[i]]);
    }
    lastKind = kind;
  }
  return Int32Array.from([
    kept.length, ...kept.map((k) => k[0]), ...kept.map((k) => k[1]),
    red.length, ...red.map((r) => r[0]), ...red.map((r) => r[1]),
  ]);
}

function reduceOp(code: number, allowed: ReadonlySet<DType>, axesInputSince = 18): OpDef {
  return {
    infer(ctx) {
      const dt = requireType(ctx, 0, allowed);
      const dims = ctx.dims(0);
      const axes = reducedAxes(ctx, axesInputSince);
      const keep = attrInt(ctx, 'keepdims', 1) !== 0;
      const out = keep ? dims.map((d, i) => (axes.includes(i) ? 1 : d)) : dims.filter((_, i) => !axes.includes(i));
      ctx.setOutput(0, dt, out);
    },
    lower(ctx) {
      if (numel(ctx.outDims(0)) === 0) return;
      const d = reduceDescriptor(ctx.dims(0), reducedAxes(ctx, axesInputSince));
      ctx.step('reduce', code, dtypeCode(ctx.dtype(0)), ctx.in(0), ctx.out(0), ctx.params(d));
    },
  };
}

export const reduceOps: Record<string, OpDef> = {
  ReduceSum: reduceOp(R.SUM, ARITH, 13),
  ReduceMean: reduceOp(R.MEAN, ARITH),
  ReduceMax: reduceOp(R.MAX, ORDERED),
  ReduceMin: reduceOp(R.MIN, ORDERED),
  ReduceProd: reduceOp(R.PROD, ARITH),
  ReduceSumSquare: reduceOp(R.SUMSQUARE, ARITH),
  ReduceL1: reduceOp(R.L1, ARITH),
  ReduceL2: reduceOp(R.L2, FLOAT_ONLY),
  ReduceLogSum: reduceOp(R.LOGSUM, FLOAT_ONLY),
  ReduceLogSumExp: reduceOp(R.LOGSUMEXP, FLOAT_ONLY),
};

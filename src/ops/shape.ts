// Shape and data-movement operators. Reshape-like ops alias their input (no copy); Shape and
// Size are known at plan time; the rest are strided copies and gathers.

import { dtypeBits, type DType } from '../ir/dtype.js';
import { fromNumbers, numel } from '../ir/tensor.js';
import { attrInt, attrInts, attrTensor, intsOf, normAxis, type OpCtx, type OpDef } from './context.js';
import { broadcastOrFail, broadcastStrides, collapse, descriptor, fmtDims, stridesOf } from './shape-util.js';

export function elemBytes(ctx: OpCtx, dt: DType): number {
  const bits = dtypeBits(dt);
  if (bits < 8 || bits % 8 !== 0) ctx.fail('LOWBIT_UNSUPPORTED', `moving ${dt} elements (sub-byte) is not supported by this op`);
  return bits / 8;
}

/** Emits a strided copy: dst[idx] = src[idx] over `dims` with per-operand element strides. */
export function emitCopy(
  ctx: OpCtx, esize: number, src: ReturnType<OpCtx['in']>, dst: ReturnType<OpCtx['out']>,
  dims: readonly number[], srcStrides: readonly number[], dstStrides: readonly number[],
): void {
  if (numel(dims) === 0) return;
  const c = collapse(dims, [srcStrides, dstStrides]);
  ctx.step('copy_strided', src, dst, esize, ctx.params(descriptor(c.dims, c.strides)));
}

function aliasOp(shape: (ctx: OpCtx) => number[]): OpDef {
  return {
    infer(ctx) {
      const dims = shape(ctx);
      if (numel(dims) !== numel(ctx.dims(0))) {
        ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot reshape ${fmtDims(ctx.dims(0))} to ${fmtDims(dims)}`);
      }
      ctx.setOutput(0, ctx.dtype(0), dims);
    },
    lower(ctx) {
      ctx.alias(0, 0);
    },
  };
}

/** Reshape's output dims for input dims `inDims` (0 copies a dim unless allowzero, −1 is inferred). */
export function reshapeDims(ctx: OpCtx, inDims: readonly number[], target: readonly number[], allowzero: number): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? (i < inDims.length ? inDims[i] : ctx.fail('LOWBIT_SHAPE_MISMATCH', `shape entry ${i} is 0 but the input has rank ${inDims.length}`)) : d));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1 || out.some((d) => d < -1)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `invalid target shape ${fmtDims(target)}`);
  if (neg === 1) {
    const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const total = numel(inDims);
    if (known === 0 || total % known !== 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot reshape ${fmtDims(inDims)} to ${fmtDims(target)}`);
    out[out.indexOf(-1)] = total / known;
  }
  return out;
}

const reshape = aliasOp((ctx) => reshapeDims(ctx, ctx.dims(0), intsOf(ctx, 1, 'the target shape'), attrInt(ctx, 'allowzero', 0)));

/** Flatten's output dims for input dims `d`. */
export function flattenDims(ctx: OpCtx, d: readonly number[]): number[] {
  let axis = attrInt(ctx, 'axis', 1);
  if (axis < 0) axis += d.length;
  if (axis < 0 || axis > d.length) ctx.fail('LOWBIT_BAD_MODEL', `axis ${axis} is out of range for rank ${d.length}`);
  return [numel(d.slice(0, axis)), numel(d.slice(axis))];
}

const flatten = aliasOp((ctx) => flattenDims(ctx, ctx.dims(0)));

function axesOf(ctx: OpCtx, inputIndex: number): number[] | undefined {
  if (ctx.opset >= 13) return ctx.has(inputIndex) ? intsOf(ctx, inputIndex, 'the axes') : undefined;
  return attrInts(ctx, 'axes');
}

const squeeze = aliasOp((ctx) => {
  const d = ctx.dims(0);
  const axes = axesOf(ctx, 1)?.map((a) => normAxis(ctx, a, d.length));
  if (axes) {
    for (const a of axes) if (d[a] !== 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot squeeze axis ${a} of size ${d[a]}`);
    return d.filter((_, i) => !axes.includes(i));
  }
  return d.filter((x) => x !== 1);
});

const unsqueeze = aliasOp((ctx) => {
  const d = ctx.dims(0);
  const axes = axesOf(ctx, 1) ?? ctx.fail('LOWBIT_BAD_MODEL', 'Unsqueeze needs axes');
  const rank = d.length + axes.length;
  const norm = axes.map((a) => normAxis(ctx, a, rank));
  if (new Set(norm).size !== norm.length) ctx.fail('LOWBIT_BAD_MODEL', `repeated axes ${fmtDims(axes)}`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : d[k++]);
  return out;
});

const identity = aliasOp((ctx) => [...ctx.dims(0)]);

const shape: OpDef = {
  infer(ctx) {
    const r = ctx.dims(0).length;
    const clampAxis = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
    const start = clampAxis(attrInt(ctx, 'start', 0));
    const end = clampAxis(attrInt(ctx, 'end', r));
    ctx.setOutput(0, 'int64', [Math.max(0, end - start)]);
  },
  lower(ctx) {
    const r = ctx.dims(0).length;
    const clampAxis = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
    const dims = ctx.dims(0).slice(clampAxis(attrInt(ctx, 'start', 0)), clampAxis(attrInt(ctx, 'end', r)));
    ctx.constant(0, fromNumbers('int64', [dims.length], dims));
  },
};

const size: OpDef = {
  infer(ctx) {
    ctx.setOutput(0, 'int64', []);
  },
  lower(ctx) {
    ctx.constant(0, fromNumbers('int64', [], [numel(ctx.dims(0))]));
  },
};

const constantOfShape: OpDef = {
  infer(ctx) {
    const dims = intsOf(ctx, 0, 'the output shape');
    const v = attrTensor(ctx, 'value');
    ctx.setOutput(0, v?.dtype ?? 'float32', dims);
  },
  lower(ctx) {
    const v = attrTensor(ctx, 'value') ?? fromNumbers('float32', [1], [0]);
    const n = numel(ctx.outDims(0));
    if (n === 0) return;
    ctx.step('fill', ctx.out(0), ctx.params(v.bytes), elemBytes(ctx, v.dtype), n);
  },
};

const expand: OpDef = {
  infer(ctx) {
    const target = intsOf(ctx, 1, 'the target shape');
    ctx.setOutput(0, ctx.dtype(0), broadcastOrFail(ctx, [ctx.dims(0), target]));
  },
  lower(ctx) {
    const od = ctx.outDims(0);
    emitCopy(ctx, elemBytes(ctx, ctx.dtype(0)), ctx.in(0), ctx.out(0), od, broadcastStrides(ctx.dims(0), od), stridesOf(od));
  },
};

const transpose: OpDef = {
  infer(ctx) {
    const d = ctx.dims(0);
    const perm = attrInts(ctx, 'perm') ?? d.map((_, i) => d.length - 1 - i);
    if (perm.length !== d.length || new Set(perm.map((p) => normAxis(ctx, p, d.length))).size !== d.length) {
      ctx.fail('LOWBIT_BAD_MODEL', `perm ${fmtDims(perm)} is not a permutation of rank ${d.length}`);
    }
    ctx.setOutput(0, ctx.dtype(0), perm.map((p) => d[normAxis(ctx, p, d.length)]));
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const perm = (attrInts(ctx, 'perm') ?? d.map((_, i) => d.length - 1 - i)).map((p) => normAxis(ctx, p, d.length));
    const st = stridesOf(d);
    const od = ctx.outDims(0);
    emitCopy(ctx, elemBytes(ctx, ctx.dtype(0)), ctx.in(0), ctx.out(0), od, perm.map((p) => st[p]), stridesOf(od));
  },
};

const concat: OpDef = {
  infer(ctx) {
    const d0 = ctx.dims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d0.length);
    let total = 0;
    for (let i = 0; i < ctx.numInputs; i++) {
      const d = ctx.dims(i);
      if (ctx.dtype(i) !== ctx.dtype(0)) ctx.fail('LOWBIT_TYPE_MISMATCH', `input ${i} is ${ctx.dtype(i)}, input 0 is ${ctx.dtype(0)}`);
      if (d.length !== d0.length || d.some((x, k) => k !== axis && x !== d0[k])) {
        ctx.fail('LOWBIT_SHAPE_MISMATCH', `input ${i} ${fmtDims(d)} does not match ${fmtDims(d0)} off axis ${axis}`);
      }
      total += d[axis];
    }
    const out = [...d0];
    out[axis] = total;
    ctx.setOutput(0, ctx.dtype(0), out);
  },
  lower(ctx) {
    const od = ctx.outDims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), od.length);
    const es = elemBytes(ctx, ctx.dtype(0));
    const outer = numel(od.slice(0, axis));
    const inner = numel(od.slice(axis + 1));
    let at = 0;
    for (let i = 0; i < ctx.numInputs; i++) {
      const ai = ctx.dims(i)[axis];
      if (ai > 0) {
        emitCopy(ctx, es, ctx.in(i), ctx.offset(ctx.out(0), at * inner * es), [outer, ai * inner], [ai * inner, 1], [od[axis] * inner, 1]);
      }
      at += ai;
    }
  },
};

/** Per-axis (start, step, count) of a Slice, clamped as the spec says. */
function sliceParams(ctx: OpCtx): { start: number[]; step: number[]; count: number[] } {
  const d = ctx.dims(0);
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(ctx, 'starts') ?? ctx.fail('LOWBIT_BAD_MODEL', 'starts is required');
    ends = attrInts(ctx, 'ends') ?? ctx.fail('LOWBIT_BAD_MODEL', 'ends is required');
    axes = attrInts(ctx, 'axes');
  } else {
    starts = intsOf(ctx, 1, 'starts');
    ends = intsOf(ctx, 2, 'ends');
    axes = ctx.has(3) ? intsOf(ctx, 3, 'axes') : undefined;
    steps = ctx.has(4) ? intsOf(ctx, 4, 'steps') : undefined;
  }
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(ctx, a, d.length));
  if (starts.length !== ax.length || ends.length !== ax.length || (steps && steps.length !== ax.length)) {
    ctx.fail('LOWBIT_BAD_MODEL', 'starts, ends, axes and steps must have the same length');
  }
  const start = d.map(() => 0);
  const step = d.map(() => 1);
  const count = [...d];
  ax.forEach((a, k) => {
    const dim = d[a];
    const st = steps ? steps[k] : 1;
    if (st === 0) ctx.fail('LOWBIT_BAD_MODEL', 'slice step cannot be 0');
    let s = starts[k] < 0 ? starts[k] + dim : starts[k];
    let e = ends[k] < 0 ? ends[k] + dim : ends[k];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      count[a] = Math.max(0, Math.ceil((s - e) / -st));
    }
    start[a] = s;
    step[a] = st;
  });
  return { start, step, count };
}

const slice: OpDef = {
  infer(ctx) {
    ctx.setOutput(0, ctx.dtype(0), sliceParams(ctx).count);
  },
  lower(ctx) {
    const { start, step, count } = sliceParams(ctx);
    if (numel(count) === 0) return;
    const es = elemBytes(ctx, ctx.dtype(0));
    const st = stridesOf(ctx.dims(0));
    const base = start.reduce((acc, s, i) => acc + s * st[i], 0);
    emitCopy(ctx, es, ctx.offset(ctx.in(0), base * es), ctx.out(0), count, st.map((s, i) => s * step[i]), stridesOf(count));
  },
};

function indexKind(ctx: OpCtx, i: number): number {
  const dt = ctx.dtype(i);
  if (dt !== 'int64' && dt !== 'int32') ctx.fail('LOWBIT_TYPE_MISMATCH', `indices must be int32 or int64, got ${dt}`);
  return dt === 'int64' ? 1 : 0;
}

const gather: OpDef = {
  infer(ctx) {
    const d = ctx.dims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    indexKind(ctx, 1);
    ctx.setOutput(0, ctx.dtype(0), [...d.slice(0, axis), ...ctx.dims(1), ...d.slice(axis + 1)]);
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    if (numel(ctx.outDims(0)) === 0) return;
    ctx.step('gather', ctx.in(0), ctx.in(1), indexKind(ctx, 1), ctx.out(0), elemBytes(ctx, ctx.dtype(0)),
      numel(d.slice(0, axis)), d[axis], numel(ctx.dims(1)), numel(d.slice(axis + 1)));
  },
};

const gatherElements: OpDef = {
  infer(ctx) {
    const d = ctx.dims(0);
    const id = ctx.dims(1);
    if (id.length !== d.length) ctx.fail('LOWBIT_SHAPE_MISMATCH', `indices rank ${id.length} differs from data rank ${d.length}`);
    normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    indexKind(ctx, 1);
    ctx.setOutput(0, ctx.dtype(0), id);
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const id = ctx.dims(1);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    if (numel(id) === 0) return;
    const desc = new Int32Array([id.length, ...id, ...stridesOf(d), axis, d[axis]]);
    ctx.step('gather_elements', ctx.in(0), ctx.in(1), indexKind(ctx, 1), ctx.out(0), elemBytes(ctx, ctx.dtype(0)), ctx.params(desc));
  },
};

const gatherND: OpDef = {
  infer(ctx) {
    const d = ctx.dims(0);
    const id = ctx.dims(1);
    const b = attrInt(ctx, 'batch_dims', 0);
    const q = id[id.length - 1];
    indexKind(ctx, 1);
    if (id.length < 1 || b + q > d.length) ctx.fail('LOWBIT_SHAPE_MISMATCH', `indices ${fmtDims(id)} do not fit data ${fmtDims(d)} with batch_dims ${b}`);
    ctx.setOutput(0, ctx.dtype(0), [...id.slice(0, -1), ...d.slice(b + q)]);
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const id = ctx.dims(1);
    const b = attrInt(ctx, 'batch_dims', 0);
    const q = id[id.length - 1];
    const nBatch = numel(d.slice(0, b));
    if (numel(ctx.outDims(0)) === 0) return;
    const st = stridesOf(d);
    const desc = new Int32Array([nBatch, b > 0 ? st[b - 1] : 0, numel(id.slice(b, -1)), q, numel(d.slice(b + q)),
      ...d.slice(b, b + q), ...st.slice(b, b + q)]);
    ctx.step('gather_nd', ctx.in(0), ctx.in(1), indexKind(ctx, 1), ctx.out(0), elemBytes(ctx, ctx.dtype(0)), ctx.params(desc));
  },
};

const tile: OpDef = {
  infer(ctx) {
    const reps = intsOf(ctx, 1, 'repeats');
    const d = ctx.dims(0);
    if (reps.length !== d.length) ctx.fail('LOWBIT_SHAPE_MISMATCH', `repeats ${fmtDims(reps)} do not match rank ${d.length}`);
    ctx.setOutput(0, ctx.dtype(0), d.map((x, i) => x * reps[i]));
  },
  lower(ctx) {
    // View the output as [r0, d0, r1, d1, …] and copy with stride 0 along every repeat axis.
    const d = ctx.dims(0);
    const reps = intsOf(ctx, 1, 'repeats');
    const st = stridesOf(d);
    const dims: number[] = [];
    const src: number[] = [];
    d.forEach((x, i) => {
      dims.push(reps[i], x);
      src.push(0, st[i]);
    });
    emitCopy(ctx, elemBytes(ctx, ctx.dtype(0)), ctx.in(0), ctx.out(0), dims, src, stridesOf(dims));
  },
};

const split: OpDef = {
  infer(ctx) {
    const d = ctx.dims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    const sizes = splitSizes(ctx, d[axis]);
    sizes.forEach((s, i) => {
      const o = [...d];
      o[axis] = s;
      ctx.setOutput(i, ctx.dtype(0), o);
    });
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), d.length);
    const es = elemBytes(ctx, ctx.dtype(0));
    const outer = numel(d.slice(0, axis));
    const inner = numel(d.slice(axis + 1));
    let at = 0;
    splitSizes(ctx, d[axis]).forEach((s, i) => {
      if (ctx.hasOutput(i) && s > 0) {
        emitCopy(ctx, es, ctx.offset(ctx.in(0), at * inner * es), ctx.out(i), [outer, s * inner], [d[axis] * inner, 1], [s * inner, 1]);
      }
      at += s;
    });
  },
};

function splitSizes(ctx: OpCtx, dim: number): number[] {
  let sizes = ctx.opset >= 13 ? (ctx.has(1) ? intsOf(ctx, 1, 'split sizes') : undefined) : attrInts(ctx, 'split');
  const n = ctx.numOutputs;
  if (!sizes) {
    const parts = attrInt(ctx, 'num_outputs', n);
    const chunk = Math.ceil(dim / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== dim || sizes.length !== n) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `split sizes ${fmtDims(sizes)} do not cover dimension ${dim} with ${n} outputs`);
  }
  return sizes;
}

export const shapeOps: Record<string, OpDef> = {
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Identity: identity,
  Shape: shape,
  Size: size,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Transpose: transpose,
  Concat: concat,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  Tile: tile,
  Split: split,
};


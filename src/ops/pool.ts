// MaxPool (values and Indices), AveragePool, GlobalAveragePool and GlobalMaxPool over
// [N, C, spatial…] with 1 to 3 spatial axes (assembly/pool.ts).

import type { DType } from '../ir/dtype.js';
import { dtypeCode } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrInt, attrInts, attrString, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { fmtDims } from './shape-util.js';

const F32 = new Set<DType>(['float32']);
const MAXPOOL_TYPES = new Set<DType>(['float32', 'int8', 'uint8']);

export interface PoolGeometry {
  /** N·C: the channels pooled independently. */
  nc: number;
  outDims: number[];
  /** The kernel descriptor (assembly/pool.ts), spatial axes right-aligned into D, H, W. */
  desc: Int32Array;
}

function positiveInts(ctx: OpCtx, name: string, n: number, def?: number): number[] {
  const v = attrInts(ctx, name) ?? (def === undefined ? undefined : new Array<number>(n).fill(def));
  if (!v) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' is required`);
  if (v.length !== n) ctx.fail('LOWBIT_BAD_MODEL', `'${name}' has ${v.length} values, the input has ${n} spatial axes`);
  if (v.some((x) => !Number.isInteger(x) || x < 1)) ctx.fail('LOWBIT_BAD_MODEL', `'${name}' must be positive, got [${v.join(',')}]`);
  return v;
}

export interface PoolAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads of every spatial axis, then end pads (ignored unless autoPad is NOTSET). */
  pads: number[];
  autoPad: 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';
  ceil: boolean;
}

/**
 * Output dims and kernel descriptor of a pool over x [N, C, spatial…] (1 to 3 spatial axes),
 * or a message saying why the window does not fit. Per spatial axis, ONNX's rules:
 * - NOTSET/VALID: out = ⌊(in + pads − span)/stride⌋ + 1, with ⌈⌉ under ceil_mode, dropping a last
 *   window that would start inside the end padding (span = (kernel − 1)·dilation + 1).
 * - SAME_UPPER/SAME_LOWER: out = ⌈in/stride⌉, the needed padding split with the odd unit at the
 *   end (UPPER) or the beginning (LOWER).
 */
export function poolWindows(xd: readonly number[], p: PoolAttrs): PoolGeometry | string {
  const ns = xd.length - 2;
  const pads = p.autoPad === 'NOTSET' ? [...p.pads] : new Array<number>(2 * ns).fill(0);
  const out: number[] = [];
  for (let a = 0; a < ns; a++) {
    const n = xd[a + 2];
    const span = (p.kernel[a] - 1) * p.dilations[a] + 1;
    const s = p.strides[a];
    let o: number;
    if (p.autoPad === 'SAME_UPPER' || p.autoPad === 'SAME_LOWER') {
      o = Math.ceil(n / s);
      const total = Math.max(0, (o - 1) * s + span - n);
      const small = Math.floor(total / 2);
      pads[a] = p.autoPad === 'SAME_UPPER' ? small : total - small;
      pads[a + ns] = total - pads[a];
    } else {
      const room = n + pads[a] + pads[a + ns] - span;
      if (room < 0) return `pooling window ${span} is larger than padded axis ${a + 2} (${n} + pads) of ${fmtDims(xd)}`;
      o = (p.ceil ? Math.ceil(room / s) : Math.floor(room / s)) + 1;
      if (p.ceil && (o - 1) * s >= n + pads[a]) o--;
    }
    // The kernels address taps with i32 offsets up to the padded axis end.
    if (Math.max(span, n + pads[a] + pads[a + ns], (o - 1) * s + span) > 0x7fffffff) {
      return `pooling window ${span} with pads [${pads[a]},${pads[a + ns]}] on axis ${a + 2} of ${fmtDims(xd)} is beyond 32-bit offsets`;
    }
    out.push(o);
  }
  const lead = 3 - ns;
  const axis = (vals: number[], fill: number) => [...new Array<number>(lead).fill(fill), ...vals];
  // The count limit (in + end pad) keeps the part of a ceil_mode window past the end pad out of
  // count_include_pad's divisor.
  const desc = new Int32Array([
    ...axis(xd.slice(2), 1), ...axis(out, 1), ...axis(p.kernel, 1), ...axis(p.strides, 1), ...axis(p.dilations, 1),
    ...axis(pads.slice(0, ns), 0), ...axis(xd.slice(2).map((n, a) => n + pads[a + ns]), 1),
  ]);
  return { nc: xd[0] * xd[1], outDims: [xd[0], xd[1], ...out], desc };
}

/** The pool of X = input 0 (or of `xd` when X is stored in another layout) by the node's attributes. */
export function poolGeometry(ctx: OpCtx, hasCeil: boolean, xd: readonly number[] = ctx.dims(0)): PoolGeometry {
  const ns = xd.length - 2;
  if (ns < 1 || ns > 3) ctx.fail('LOWBIT_UNSUPPORTED', `pooling needs 1 to 3 spatial axes, input is ${fmtDims(xd)}`);
  const autoPad = attrString(ctx, 'auto_pad', 'NOTSET') || 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    ctx.fail('LOWBIT_BAD_MODEL', `unknown auto_pad '${autoPad}'`);
  }
  const pads = attrInts(ctx, 'pads') ?? new Array<number>(2 * ns).fill(0);
  if (pads.length !== 2 * ns) ctx.fail('LOWBIT_BAD_MODEL', `'pads' has ${pads.length} values, expected ${2 * ns}`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) ctx.fail('LOWBIT_BAD_MODEL', `'pads' must be ≥ 0, got [${pads.join(',')}]`);
  const g = poolWindows(xd, {
    kernel: positiveInts(ctx, 'kernel_shape', ns),
    strides: positiveInts(ctx, 'strides', ns, 1),
    dilations: positiveInts(ctx, 'dilations', ns, 1),
    pads,
    autoPad,
    ceil: hasCeil && attrInt(ctx, 'ceil_mode', 0) !== 0,
  });
  if (typeof g === 'string') ctx.fail('LOWBIT_SHAPE_MISMATCH', g);
  return g;
}

const maxPool: OpDef = {
  infer(ctx) {
    const dt = requireType(ctx, 0, MAXPOOL_TYPES);
    const g = poolGeometry(ctx, ctx.opset >= 10);
    ctx.setOutput(0, dt, g.outDims);
    if (ctx.hasOutput(1)) ctx.setOutput(1, 'int64', g.outDims);
  },
  lower(ctx) {
    const g = poolGeometry(ctx, ctx.opset >= 10);
    if (numel(g.outDims) === 0) return;
    const dt = dtypeCode(ctx.dtype(0));
    if (ctx.hasOutput(1)) {
      const order = attrInt(ctx, 'storage_order', 0);
      if (order !== 0 && order !== 1) ctx.fail('LOWBIT_BAD_MODEL', `storage_order must be 0 or 1, got ${order}`);
      ctx.step('maxpool_indices', dt, ctx.in(0), ctx.out(0), ctx.out(1), g.nc, ctx.params(g.desc), order);
    } else {
      ctx.step('maxpool', dt, ctx.in(0), ctx.out(0), g.nc, ctx.params(g.desc));
    }
  },
};

const averagePool: OpDef = {
  infer(ctx) {
    requireType(ctx, 0, F32);
    ctx.setOutput(0, 'float32', poolGeometry(ctx, ctx.opset >= 10).outDims);
  },
  lower(ctx) {
    const g = poolGeometry(ctx, ctx.opset >= 10);
    if (numel(g.outDims) === 0) return;
    const countPad = attrInt(ctx, 'count_include_pad', 0) !== 0 ? 1 : 0;
    ctx.step('avgpool_f32', ctx.in(0), ctx.out(0), g.nc, ctx.params(g.desc), countPad);
  },
};

function globalPool(kernel: string): OpDef {
  return {
    infer(ctx) {
      requireType(ctx, 0, F32);
      const xd = ctx.dims(0);
      if (xd.length < 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `input ${fmtDims(xd)} needs at least N and C axes`);
      ctx.setOutput(0, 'float32', xd.map((d, i) => (i < 2 ? d : 1)));
    },
    lower(ctx) {
      const xd = ctx.dims(0);
      const nc = xd[0] * xd[1];
      if (nc === 0) return;
      ctx.step(kernel, ctx.in(0), ctx.out(0), nc, numel(xd.slice(2)));
    },
  };
}

export const poolOps: Record<string, OpDef> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalPool('global_avgpool_f32'),
  GlobalMaxPool: globalPool('global_maxpool_f32'),
};

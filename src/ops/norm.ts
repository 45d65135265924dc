// Softmax, LogSoftmax and LayerNormalization in f32 (assembly/softmax.ts, assembly/norm_layer.ts).

import type { DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrFloat, attrInt, normAxis, type Addr, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { broadcastStrides, fmtDims, stridesOf } from './shape-util.js';
import { emitCopy } from './shape.js';

const F32 = new Set<DType>(['float32']);

/**
 * The [outer, n, inner] view Softmax reduces over n. Before opset 13 the input is coerced to
 * 2-D at `axis` (default 1): n covers every dim from axis on. From 13, n is the one dim `axis`
 * (default −1).
 */
function softmaxView(ctx: OpCtx): { outer: number; n: number; inner: number } {
  const d = ctx.dims(0);
  if (ctx.opset < 13) {
    if (d.length === 0) return { outer: 1, n: 1, inner: 1 };
    const a = normAxis(ctx, attrInt(ctx, 'axis', 1), d.length);
    return { outer: numel(d.slice(0, a)), n: numel(d.slice(a)), inner: 1 };
  }
  if (d.length === 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', 'Softmax needs an input of rank ≥ 1');
  const a = normAxis(ctx, attrInt(ctx, 'axis', -1), d.length);
  return { outer: numel(d.slice(0, a)), n: d[a], inner: numel(d.slice(a + 1)) };
}

function softmax(logMode: 0 | 1): OpDef {
  return {
    infer(ctx) {
      ctx.setOutput(0, requireType(ctx, 0, F32), ctx.dims(0));
      softmaxView(ctx);
    },
    lower(ctx) {
      const { outer, n, inner } = softmaxView(ctx);
      if (outer * n * inner === 0) return;
      ctx.step('softmax_f32', ctx.in(0), ctx.out(0), outer, n, inner, logMode);
    },
  };
}

/** Normalised shape X.dims[axis:], with axis counted from the front. */
function layerNormAxis(ctx: OpCtx): number {
  const d = ctx.dims(0);
  if (d.length === 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', 'LayerNormalization needs an input of rank ≥ 1');
  return normAxis(ctx, attrInt(ctx, 'axis', -1), d.length);
}

/** Scale or bias as n contiguous values: as is when it has the normalised shape, else broadcast. */
function perElement(ctx: OpCtx, i: number, norm: readonly number[]): Addr {
  const pd = ctx.dims(i);
  const trimmed = pd.slice(pd.findIndex((x) => x !== 1) < 0 ? pd.length : pd.findIndex((x) => x !== 1));
  const fits = trimmed.length <= norm.length && trimmed.every((x, k) => x === 1 || x === norm[norm.length - trimmed.length + k]);
  if (!fits) ctx.fail('LOWBIT_SHAPE_MISMATCH', `input ${i} has shape ${fmtDims(pd)}, which does not broadcast to the normalised shape ${fmtDims(norm)}`);
  if (numel(trimmed) === numel(norm)) return ctx.in(i);
  const dst = ctx.scratch(numel(norm) * 4);
  emitCopy(ctx, 4, ctx.in(i), dst, norm, broadcastStrides(trimmed, norm), stridesOf(norm));
  return dst;
}

const layerNormalization: OpDef = {
  infer(ctx) {
    requireType(ctx, 0, F32);
    for (const i of [1, 2]) {
      if (ctx.has(i) && ctx.dtype(i) !== 'float32') ctx.fail('LOWBIT_TYPE_MISMATCH', `input ${i} is ${ctx.dtype(i)}, X is float32`);
    }
    if (!ctx.has(1)) ctx.fail('LOWBIT_BAD_MODEL', 'LayerNormalization needs a Scale input');
    const stash = attrInt(ctx, 'stash_type', 1);
    if (stash !== 1) ctx.fail('LOWBIT_UNSUPPORTED', `stash_type ${stash} is not supported (only 1, float32)`);
    const d = ctx.dims(0);
    const axis = layerNormAxis(ctx);
    ctx.setOutput(0, 'float32', d);
    const statDims = d.map((x, k) => (k < axis ? x : 1));
    for (const o of [1, 2]) if (ctx.hasOutput(o)) ctx.setOutput(o, 'float32', statDims);
  },
  lower(ctx) {
    const d = ctx.dims(0);
    const axis = layerNormAxis(ctx);
    const rows = numel(d.slice(0, axis));
    const norm = d.slice(axis);
    const n = numel(norm);
    // n = 0 still writes Mean and InvStdDev (NaN, as 0/0 is).
    if (rows === 0) return;
    const scale = perElement(ctx, 1, norm);
    const bias = ctx.has(2) ? perElement(ctx, 2, norm) : 0;
    const stat = (o: number) => (ctx.hasOutput(o) ? ctx.out(o) : 0);
    ctx.step('layernorm_f32', ctx.in(0), scale, bias, ctx.out(0), stat(1), stat(2), rows, n, attrFloat(ctx, 'epsilon', 1e-5));
  },
};

export const normOps: Record<string, OpDef> = {
  Softmax: softmax(0),
  LogSoftmax: softmax(1),
  LayerNormalization: layerNormalization,
};

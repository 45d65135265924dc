// BatchNormalization in f32 (assembly/norm_batch.ts): inference as one fused per-channel
// scale + shift; training_mode (opset ≥ 14) with batch statistics and running-stat outputs.

import type { DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrFloat, attrInt, type Addr, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { fmtDims } from './shape-util.js';

const F32 = new Set<DType>(['float32']);

/** X viewed as [n, channels, inner]; opset < 9 with spatial = 0 normalises each (c, position). */
function bnView(ctx: OpCtx): { n: number; channels: number; inner: number } {
  const xd = ctx.dims(0);
  if (xd.length < 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `BatchNormalization input ${fmtDims(xd)} needs N and C axes`);
  const inner = numel(xd.slice(2));
  const perPosition = ctx.opset < 9 && attrInt(ctx, 'spatial', 1) === 0;
  const channels = perPosition ? xd[1] * inner : xd[1];
  for (let i = 1; i <= 4; i++) {
    if (numel(ctx.dims(i)) !== channels) {
      ctx.fail('LOWBIT_SHAPE_MISMATCH', `input ${i} has shape ${fmtDims(ctx.dims(i))}, expected ${channels} values for X ${fmtDims(xd)}`);
    }
  }
  return { n: xd[0], channels, inner: perPosition ? 1 : inner };
}

function training(ctx: OpCtx): boolean {
  if (ctx.opset >= 14) return attrInt(ctx, 'training_mode', 0) !== 0;
  // Older opsets signal training by asking for the statistics outputs (or is_test = 0 before 7).
  for (let i = 1; i < ctx.numOutputs; i++) {
    if (ctx.hasOutput(i)) ctx.fail('LOWBIT_UNSUPPORTED', `BatchNormalization training outputs are supported from opset 14 (model has opset ${ctx.opset})`);
  }
  return false;
}

/** s = scale/√(var + ε), t = bias − mean·s in the kernel's f32 steps (each op rounded to f32). */
export function foldConstants(scale: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): Float32Array {
  const c = scale.length;
  const st = new Float32Array(2 * c);
  const e = Math.fround(eps);
  for (let i = 0; i < c; i++) {
    const k = Math.fround(scale[i] / Math.fround(Math.sqrt(Math.fround(variance[i] + e))));
    st[i] = k;
    st[c + i] = Math.fround(bias[i] - Math.fround(mean[i] * k));
  }
  return st;
}

function f32Of(ctx: OpCtx, i: number): Float32Array | undefined {
  const v = ctx.value(i);
  return v && new Float32Array(v.bytes.slice().buffer);
}

const batchNormalization: OpDef = {
  infer(ctx) {
    for (let i = 0; i < 5; i++) requireType(ctx, i, F32);
    const { channels } = bnView(ctx);
    ctx.setOutput(0, 'float32', ctx.dims(0));
    if (training(ctx)) {
      for (const i of [1, 2]) if (ctx.hasOutput(i)) ctx.setOutput(i, 'float32', [channels]);
    }
  },
  lower(ctx) {
    const { n, channels: c, inner } = bnView(ctx);
    if (numel(ctx.dims(0)) === 0) return;
    const eps = attrFloat(ctx, 'epsilon', 1e-5);
    const x = ctx.in(0);
    const y = ctx.out(0);
    let mean = ctx.in(3);
    let variance = ctx.in(4);
    const isTraining = training(ctx);
    if (isTraining) {
      mean = ctx.scratch(c * 4);
      variance = ctx.scratch(c * 4);
      ctx.step('bn_stats_f32', x, mean, variance, n, c, inner);
    }
    const known = isTraining ? undefined : [1, 2, 3, 4].map((i) => f32Of(ctx, i));
    let s: Addr, t: Addr;
    if (known && known.every((v) => v)) {
      const st = foldConstants(known[0]!, known[1]!, known[2]!, known[3]!, eps);
      s = ctx.params(st.subarray(0, c));
      t = ctx.params(st.subarray(c));
    } else {
      s = ctx.scratch(c * 4);
      t = ctx.scratch(c * 4);
      ctx.step('bn_fold_f32', ctx.in(1), ctx.in(2), mean, variance, eps, c, s, t);
    }
    ctx.step('channel_affine_f32', x, y, s, t, n, c, inner);
    if (isTraining) {
      const momentum = attrFloat(ctx, 'momentum', 0.9);
      if (ctx.hasOutput(1)) ctx.step('bn_running_f32', ctx.in(3), mean, ctx.out(1), c, momentum);
      if (ctx.hasOutput(2)) ctx.step('bn_running_f32', ctx.in(4), variance, ctx.out(2), c, momentum);
    }
  },
};

export const batchNormOps: Record<string, OpDef> = {
  BatchNormalization: batchNormalization,
};

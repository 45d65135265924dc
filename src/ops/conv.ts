// Conv and ConvTranspose in f32 (1-D, 2-D, 3-D; groups, strides, dilations, pads, auto_pad,
// output_padding, output_shape) on the kernels of assembly/conv_f32.ts (im2col + packed GEMM,
// col2im), assembly/conv_dw_f32.ts (direct, one input channel per group) and, for 3×3 stride-1
// 2-D convs with enough channels, assembly/conv_winograd.ts (conv-winograd.ts). Constant weights
// are packed once per session as the GEMM's A operand; runtime weights are packed per call.

import { numel } from '../ir/tensor.js';
import { attrInt, attrInts, attrString, type Addr, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { descriptor, type ConvGeom } from './conv-geom.js';
import { lowerWinograd, winogradApplies } from './conv-winograd.js';
import { fmtDims } from './shape-util.js';

const F32 = new Set(['float32'] as const);

/** im2col panels are packed this many bytes at a time, so the GEMM reads them back from L1d. */
const CHUNK_BYTES = 16 * 1024;
/** conv_dw_f32 lists the kernel rows (all axes but the last) of each output row: at most this many. */
const DW_MAX_KERNEL_ROWS = 1024;
/** ConvTranspose computes its col matrix this many bytes at a time. */
const COL_BYTES = 256 * 1024;

const span = (k: number, d: number) => (k - 1) * d + 1;

function positiveInts(ctx: OpCtx, name: string, rank: number, def: number): number[] {
  const v = attrInts(ctx, name) ?? new Array<number>(rank).fill(def);
  if (v.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' has ${v.length} values, expected ${rank} (one per spatial axis)`);
  if (v.some((x) => !Number.isInteger(x) || x < 1)) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' must be positive integers, got [${v.join(', ')}]`);
  return v;
}

/** Checks X and W ranks, types and the kernel shape; returns the parts both ops share. */
function commonShape(ctx: OpCtx) {
  requireType(ctx, 0, F32);
  requireType(ctx, 1, F32);
  const xd = ctx.dims(0);
  const wd = ctx.dims(1);
  const rank = xd.length - 2;
  if (rank < 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X must be [N, C, spatial…], got ${fmtDims(xd)}`);
  if (rank > 3) ctx.fail('LOWBIT_UNSUPPORTED', `${rank}-D convolution is not supported (1-D, 2-D and 3-D are)`);
  if (wd.length !== xd.length) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} must have the rank of X ${fmtDims(xd)}`);
  const kernel = wd.slice(2);
  const ks = attrInts(ctx, 'kernel_shape');
  if (ks && (ks.length !== rank || ks.some((k, i) => k !== kernel[i]))) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `kernel_shape [${ks.join(', ')}] does not match W ${fmtDims(wd)}`);
  }
  if (kernel.some((k) => k < 1)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} has an empty kernel`);
  const group = attrInt(ctx, 'group', 1);
  if (!Number.isInteger(group) || group < 1) ctx.fail('LOWBIT_BAD_MODEL', `group must be a positive integer, got ${group}`);
  if (xd[1] % group !== 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X has ${xd[1]} channels, not a multiple of group ${group}`);
  const autoPad = attrString(ctx, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) ctx.fail('LOWBIT_BAD_MODEL', `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const pads = attrInts(ctx, 'pads') ?? new Array<number>(2 * rank).fill(0);
  if (pads.length !== 2 * rank) ctx.fail('LOWBIT_BAD_MODEL', `pads has ${pads.length} values, expected ${2 * rank}`);
  return {
    xd, wd, rank, kernel, group, autoPad, pads,
    strides: positiveInts(ctx, 'strides', rank, 1),
    dilations: positiveInts(ctx, 'dilations', rank, 1),
  };
}

function biasCheck(ctx: OpCtx, channels: number): void {
  if (!ctx.has(2)) return;
  requireType(ctx, 2, F32);
  const bd = ctx.dims(2);
  if (bd.length !== 1 || bd[0] !== channels) ctx.fail('LOWBIT_SHAPE_MISMATCH', `B ${fmtDims(bd)} must be [${channels}] (one per output channel)`);
}

function outputOrFail(ctx: OpCtx, out: number[], what: string): void {
  if (out.some((o) => !(o >= 1))) ctx.fail('LOWBIT_SHAPE_MISMATCH', `${what} gives output spatial dims [${out.join(', ')}]; every dim must be ≥ 1`);
}

function convGeom(ctx: OpCtx): ConvGeom {
  const { xd, wd, rank, kernel, group, autoPad, pads, strides, dilations } = commonShape(ctx);
  if (wd[0] % group !== 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W has ${wd[0]} output channels, not a multiple of group ${group}`);
  if (wd[1] * group !== xd[1]) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} expects ${wd[1] * group} input channels (group ${group}), X ${fmtDims(xd)} has ${xd[1]}`);
  const inSpatial = xd.slice(2);
  const begin: number[] = [];
  const outSpatial: number[] = [];
  for (let i = 0; i < rank; i++) {
    const sp = span(kernel[i], dilations[i]);
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      // Output ceil(in / stride); the odd unit of padding goes at the end (UPPER) or start (LOWER).
      const out = Math.ceil(inSpatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + sp - inSpatial[i]);
      begin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2));
      outSpatial.push(out);
    } else {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + rank]];
      if (pb < 0 || pe < 0) ctx.fail('LOWBIT_BAD_MODEL', `pads must be ≥ 0, got [${pads.join(', ')}]`);
      begin.push(pb);
      outSpatial.push(Math.floor((inSpatial[i] + pb + pe - sp) / strides[i]) + 1);
    }
  }
  outputOrFail(ctx, outSpatial, `X ${fmtDims(xd)} with kernel [${kernel.join(', ')}]`);
  return { group, C: wd[1], M: wd[0] / group, kernel, strides, dilations, pads: begin, inSpatial, outSpatial };
}

function convTransposeGeom(ctx: OpCtx): ConvGeom {
  const { xd, wd, rank, kernel, group, autoPad, pads, strides, dilations } = commonShape(ctx);
  if (wd[0] !== xd[1]) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} expects ${wd[0]} input channels, X ${fmtDims(xd)} has ${xd[1]}`);
  const outPadding = attrInts(ctx, 'output_padding') ?? new Array<number>(rank).fill(0);
  if (outPadding.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `output_padding has ${outPadding.length} values, expected ${rank}`);
  if (outPadding.some((p) => p < 0)) ctx.fail('LOWBIT_BAD_MODEL', `output_padding [${outPadding.join(', ')}] must be ≥ 0`);
  let wanted = attrInts(ctx, 'output_shape');
  if (wanted && wanted.length === rank + 2) wanted = wanted.slice(2);
  if (wanted && wanted.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `output_shape has ${wanted.length} values, expected ${rank}`);
  const inSpatial = xd.slice(2);
  const begin: number[] = [];
  const outSpatial: number[] = [];
  for (let i = 0; i < rank; i++) {
    // Full (uncropped) extent: (in − 1)·stride + output_padding + span.
    const full = strides[i] * (inSpatial[i] - 1) + outPadding[i] + span(kernel[i], dilations[i]);
    const same = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER';
    const out = wanted ? wanted[i] : same ? inSpatial[i] * strides[i] : undefined;
    if (out !== undefined) {
      // Pads implied by the output size (ONNX spec: floor division; the odd unit goes at the end
      // for SAME_UPPER, at the start otherwise). Negative total padding grows the output.
      const total = full - out;
      const half = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? half : total - half);
      outSpatial.push(out);
    } else {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + rank]];
      if (pb < 0 || pe < 0) ctx.fail('LOWBIT_BAD_MODEL', `pads must be ≥ 0, got [${pads.join(', ')}]`);
      begin.push(pb);
      outSpatial.push(full - pb - pe);
    }
  }
  outputOrFail(ctx, outSpatial, `X ${fmtDims(xd)} with kernel [${kernel.join(', ')}]`);
  return { group, C: xd[1] / group, M: wd[1], kernel, strides, dilations, pads: begin, inSpatial, outSpatial };
}

/**
 * Packs W per group as GEMM A operands (each ceil(rows/4)·K·16 bytes): once per session when W
 * is constant, per call otherwise. `kernel` is pack_a_f32 (Conv: W_g is rows×K) or pack_at_f32
 * (ConvTranspose: W_g is K×rows).
 */
function packedWeights(ctx: OpCtx, kernel: 'pack_a_f32' | 'pack_at_f32', groups: number, rows: number, K: number): Addr {
  const groupBytes = Math.ceil(rows / 4) * K * 16;
  const lda = kernel === 'pack_a_f32' ? K : rows;
  const pack = (src: Addr, dst: Addr) => {
    for (let g = 0; g < groups; g++) {
      ctx.step(kernel, ctx.offset(src, g * rows * K * 4), lda, ctx.offset(dst, g * groupBytes), rows, K);
    }
  };
  if (ctx.value(1)) return ctx.derived(1, `${kernel}_conv_g${groups}`, groups * groupBytes, pack);
  const dst = ctx.scratch(groups * groupBytes);
  pack(ctx.in(1), dst);
  return dst;
}

const conv: OpDef = {
  infer(ctx) {
    const g = convGeom(ctx);
    biasCheck(ctx, g.M * g.group);
    ctx.setOutput(0, 'float32', [ctx.dims(0)[0], g.M * g.group, ...g.outSpatial]);
  },
  lower(ctx) {
    if (numel(ctx.outDims(0)) === 0) return;
    const g = convGeom(ctx);
    const bias = ctx.has(2) ? ctx.in(2) : 0;
    if (g.C === 1 && g.M < 4 && numel(g.kernel) / g.kernel[g.kernel.length - 1] <= DW_MAX_KERNEL_ROWS) {
      // Depthwise-like: a handful of taps per output, too little work for the GEMM.
      ctx.step('conv_dw_f32', ctx.params(descriptor(ctx.dims(0)[0], g, 0)), ctx.in(0), ctx.in(1), bias, ctx.out(0), 0, 0, 0);
      return;
    }
    if (winogradApplies(g)) {
      lowerWinograd(ctx, g, bias);
      return;
    }
    const K = g.C * numel(g.kernel);
    const panels = Math.ceil(numel(g.outSpatial) / 8);
    const chunk = Math.max(1, Math.min(panels, Math.floor(CHUNK_BYTES / (K * 32))));
    const wp = packedWeights(ctx, 'pack_a_f32', g.group, g.M, K);
    ctx.step('conv_f32', ctx.params(descriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), wp, bias, ctx.out(0), ctx.scratch(chunk * K * 32), 0, 0, 0);
  },
};

const convTranspose: OpDef = {
  infer(ctx) {
    const g = convTransposeGeom(ctx);
    biasCheck(ctx, g.M * g.group);
    ctx.setOutput(0, 'float32', [ctx.dims(0)[0], g.M * g.group, ...g.outSpatial]);
  },
  lower(ctx) {
    if (numel(ctx.outDims(0)) === 0) return;
    const g = convTransposeGeom(ctx);
    const rows = g.M * numel(g.kernel);
    const P = numel(g.inSpatial);
    const wp = packedWeights(ctx, 'pack_at_f32', g.group, rows, g.C);
    // col (rows × chunk·8 floats) is scattered right after the GEMM writes it: keep it in L2.
    const chunk = Math.max(1, Math.min(Math.ceil(P / 8), Math.floor(COL_BYTES / (rows * 32))));
    const scratch = ctx.scratch(Math.ceil(P / 8) * g.C * 32 + rows * chunk * 32);
    ctx.step('conv_transpose_f32', ctx.params(descriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), wp, ctx.has(2) ? ctx.in(2) : 0,
      ctx.out(0), scratch);
  },
};

export const convOps: Record<string, OpDef> = {
  Conv: conv,
  ConvTranspose: convTranspose,
};

// Conv and ConvTranspose in f32 (1-D, 2-D, 3-D; groups, strides, dilations, pads, auto_pad,
// output_padding, output_shape) on the kernels of assembly/conv_f32.ts (im2col + packed GEMM,
// col2im), assembly/conv_dw_f32.ts (direct, one input channel per group) and, for 3×3 stride-1
// 2-D convs with enough channels, assembly/conv_winograd.ts (conv-winograd.ts). Constant weights
// are packed once per session as the GEMM's A operand; runtime weights are packed per call.

import { numel } from '../ir/tensor.js';
import { fusedActivation, type Addr, type OpCtx, type OpDef } from './context.js';
import { convGeom, convTransposeGeom, geomDescriptor } from './conv-geom.js';
import { requireType } from './elementwise.js';
import { lowerWinograd, winogradApplies } from './conv-winograd.js';
import { lmulBits } from './matmul.js';
import { fmtDims } from './shape-util.js';

const F32 = new Set(['float32'] as const);

/** im2col panels are packed this many bytes at a time, so the GEMM reads them back from L1d. */
const CHUNK_BYTES = 16 * 1024;
/** conv_dw_f32 lists the kernel rows (all axes but the last) of each output row: at most this many. */
const DW_MAX_KERNEL_ROWS = 1024;
/** ConvTranspose computes its col matrix this many bytes at a time. */
const COL_BYTES = 256 * 1024;

function biasCheck(ctx: OpCtx, channels: number): void {
  if (!ctx.has(2)) return;
  requireType(ctx, 2, F32);
  const bd = ctx.dims(2);
  if (bd.length !== 1 || bd[0] !== channels) ctx.fail('LOWBIT_SHAPE_MISMATCH', `B ${fmtDims(bd)} must be [${channels}] (one per output channel)`);
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

function requireF32(ctx: OpCtx): void {
  requireType(ctx, 0, F32);
  requireType(ctx, 1, F32);
}

const conv: OpDef = {
  infer(ctx) {
    requireF32(ctx);
    const g = convGeom(ctx);
    biasCheck(ctx, g.M * g.group);
    ctx.setOutput(0, 'float32', [ctx.dims(0)[0], g.M * g.group, ...g.outSpatial]);
  },
  lower(ctx) {
    if (numel(ctx.outDims(0)) === 0) return;
    const g = convGeom(ctx);
    const bias = ctx.has(2) ? ctx.in(2) : 0;
    const { act, lo, hi } = fusedActivation(ctx);
    const lm = lmulBits(ctx);
    if (lm > 0) {
      // L-Mul (LMulConv): im2col + the L-Mul GEMM on the plain weights, every group and shape.
      const K = g.C * numel(g.kernel);
      const chunk = Math.max(1, Math.min(Math.ceil(numel(g.outSpatial) / 8), Math.floor(CHUNK_BYTES / (K * 32))));
      ctx.step('lmul_conv_f32', ctx.params(geomDescriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), ctx.in(1), bias, ctx.out(0),
        ctx.scratch(chunk * K * 32), act, lo, hi, lm);
      return;
    }
    if (g.C === 1 && g.M < 4 && numel(g.kernel) / g.kernel[g.kernel.length - 1] <= DW_MAX_KERNEL_ROWS) {
      // Depthwise-like: a handful of taps per output, too little work for the GEMM.
      ctx.step('conv_dw_f32', ctx.params(geomDescriptor(ctx.dims(0)[0], g, 0)), ctx.in(0), ctx.in(1), bias, ctx.out(0), act, lo, hi);
      return;
    }
    if (winogradApplies(g)) {
      lowerWinograd(ctx, g, bias, { act, lo, hi });
      return;
    }
    const K = g.C * numel(g.kernel);
    const panels = Math.ceil(numel(g.outSpatial) / 8);
    const chunk = Math.max(1, Math.min(panels, Math.floor(CHUNK_BYTES / (K * 32))));
    const wp = packedWeights(ctx, 'pack_a_f32', g.group, g.M, K);
    ctx.step('conv_f32', ctx.params(geomDescriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), wp, bias, ctx.out(0), ctx.scratch(chunk * K * 32), act, lo, hi);
  },
};

const convTranspose: OpDef = {
  infer(ctx) {
    requireF32(ctx);
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
    ctx.step('conv_transpose_f32', ctx.params(geomDescriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), wp, ctx.has(2) ? ctx.in(2) : 0,
      ctx.out(0), scratch);
  },
};

export const convOps: Record<string, OpDef> = {
  Conv: conv,
  ConvTranspose: convTranspose,
};

/** ai.lowbit: Conv with a Relu/Clip applied as the kernel stores (src/passes/fuse-activation.ts). */
export const fusedConvOps: Record<string, OpDef> = {
  FusedConv: conv,
  /** Conv with L-Mul products (src/passes/lmul.ts). */
  LMulConv: conv,
};

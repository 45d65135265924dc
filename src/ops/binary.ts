// ai.lowbit binary layers, what the binary pass (src/passes/binary.ts) makes of MatMul/Gemm/Conv
// whose constant weights are ±s_n per output channel n:
//
//   BinaryMatMul(X, W, scale, bias?)  Y = (bipolar(X) · sign(W)) · scale + bias
//   BinaryConv(X, W, scale, bias?)    Y = Conv(bipolar(X), sign(W)) · scale + bias   (Conv attrs)
//
// bipolar(x) = x < 0 ? −1 : +1 (the packers' rule, assembly/bitpack.ts), or with attribute
// nan_negative = 1 x ≥ 0 ? +1 : −1 (BipolarQuant's: the two differ only at NaN); W is the original f32
// initializer ([K, N], or [N, K] with trans_b = 1; Conv [M, C/group, kernel…]), of which only the
// signs are kept: packed once per session into 8-row panels of bit rows (⌈N/8⌉·8·⌈K/128⌉·16
// bytes, assembly/bitpanel.ts). scale and bias are float32 [N]; the activation attributes of
// src/passes/fuse-activation.ts apply a Relu/Clip last.
// Binary×binary dots are exact integers (|dot| ≤ K < 2^24 is exact in f32), then
// the epilogue rounds dot·scale and then + bias to f32 (assembly/bgemm_epilogue.ts).
//
// Chains kept in bits (src/passes/binary-chain.ts): with packed_output = 1 the layer stores
// sign(y) instead of y, through input 4 `sign_thresholds` (int32 [N, 2]: per channel (t, d),
// +1 iff d·dot ≥ t, the pass's exact derivation), and with packed_input = 1 it reads X as those
// bits. A packed tensor is uint8 holding bit rows (assembly/bitpack.ts, set bit = −1):
//   BinaryMatMul  logical [..., N]          → uint8 [..., bitRowBytes(N)]
//   BinaryConv    logical [B, C, spatial…]  → uint8 [B, spatial…, bitRowBytes(C)] (bit NHWC)
// The length of the packed axis is not in the dims: a reader takes it from its own weights
// (K, or C = W.dims[1]·group), which the pass checked against the writer's channels.

import { numel } from '../ir/tensor.js';
import { attrInt, fusedActivation, type Addr, type OpCtx, type OpDef } from './context.js';
import { convGeom, geomDescriptor } from './conv-geom.js';
import { fmtDims } from './shape-util.js';

/** Bytes of one bit row of L elements (bit_row_bytes in assembly/bitpack.ts). */
export const bitRowBytes = (L: number): number => Math.ceil(L / 128) * 16;

/** Bytes of N rows of K elements in 8-row panels (bpanel_bytes in assembly/bitpanel.ts). */
export const bpanelBytes = (N: number, K: number): number => Math.ceil(N / 8) * 8 * bitRowBytes(K);

/** binary_epilogue_desc's header plus its copies of N scales and N biases. */
const epiBytes = (N: number): number => 32 + 8 * N;

/** bconv_b1b1 im2cols this many bytes of tap rows at a time, so the GEMM reads them from L1d. */
const BCONV_CHUNK_BYTES = 16 * 1024;

/**
 * bconv_b1b1_scratch_bytes: per chunk row its tap row, valid count, invalid-tap count and list
 * (4·taps) and an entry of the list of rows with invalid taps, plus the per-tap weight
 * popcounts (taps × M rounded up to 8, i32).
 */
export function bconvScratchBytes(taps: number, C: number, M: number, chunk: number): number {
  return chunk * (bitRowBytes(taps * C) + 12 + 4 * taps) + 4 * taps * Math.ceil(M / 8) * 8;
}

function requireF32(ctx: OpCtx, i: number, what: string): void {
  if (ctx.dtype(i) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `${what} has type ${ctx.dtype(i)}; only float32 is supported`);
}

/** Checks W (constant), scale [N] (constant) and bias [N]. */
function checkChannels(ctx: OpCtx, N: number): void {
  requireF32(ctx, 1, 'W');
  requireF32(ctx, 2, 'scale');
  if (!ctx.value(1) || !ctx.value(2)) ctx.fail('LOWBIT_UNSUPPORTED', 'W and scale must be constants');
  if (numel(ctx.dims(2)) !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `scale ${fmtDims(ctx.dims(2))} must have ${N} elements (one per output channel)`);
  if (ctx.has(3)) {
    requireF32(ctx, 3, 'bias');
    if (numel(ctx.dims(3)) !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias ${fmtDims(ctx.dims(3))} must have ${N} elements`);
  }
}

const packedInput = (ctx: OpCtx): boolean => attrInt(ctx, 'packed_input', 0) === 1;
const packedOutput = (ctx: OpCtx): boolean => attrInt(ctx, 'packed_output', 0) === 1;
/** The packers' NaN rule for f32 X: 0 (NaN → +1) or 1 (NaN → −1). */
export function nanNegative(ctx: OpCtx): number {
  const v = attrInt(ctx, 'nan_negative', 0);
  if (v !== 0 && v !== 1) ctx.fail('LOWBIT_BAD_MODEL', `nan_negative must be 0 or 1, got ${v}`);
  return v;
}

/** X's dtype: float32, or uint8 bit rows whose last dim is bitRowBytes(bits) when packed. */
function checkInput(ctx: OpCtx, bits: number): void {
  nanNegative(ctx);
  if (!packedInput(ctx)) return requireF32(ctx, 0, 'X');
  const xd = ctx.dims(0);
  if (ctx.dtype(0) !== 'uint8' || xd.length === 0 || xd[xd.length - 1] !== bitRowBytes(bits)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `packed X ${ctx.dtype(0)} ${fmtDims(xd)} must be uint8 bit rows of ${bits} (last dim ${bitRowBytes(bits)})`);
  }
}

/** The f32 epilogue (· scale, + bias, then a fused Relu/Clip), or the sign of it when packed. */
function epilogue(ctx: OpCtx, N: number): Addr {
  const epi = ctx.scratch(epiBytes(N));
  if (packedOutput(ctx)) {
    if (!ctx.has(4) || ctx.dtype(4) !== 'int32' || numel(ctx.dims(4)) !== 2 * N || !ctx.value(4)) {
      ctx.fail('LOWBIT_BAD_MODEL', `packed output needs constant int32 sign_thresholds of ${2 * N} values (input 4)`);
    }
    ctx.step('binary_sign_desc', epi, ctx.in(4), N);
    return epi;
  }
  const { act, lo, hi } = fusedActivation(ctx);
  ctx.step('binary_epilogue_desc', epi, ctx.in(2), ctx.has(3) ? ctx.in(3) : 0, N, act, lo, hi);
  return epi;
}

/** Output 0: f32 of `dims`, or its sign bits packed along the axis of `channels`, at the end. */
function setOutput(ctx: OpCtx, dims: number[], channelAxis: number): void {
  if (!packedOutput(ctx)) return ctx.setOutput(0, 'float32', dims);
  const rows = dims.filter((_, i) => i !== channelAxis);
  ctx.setOutput(0, 'uint8', [...rows, bitRowBytes(dims[channelAxis])]);
}

function matmulShape(ctx: OpCtx): { K: number; N: number; transB: boolean } {
  const wd = ctx.dims(1);
  if (wd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W must be 2-D, got ${fmtDims(wd)}`);
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const [K, N] = transB ? [wd[1], wd[0]] : wd;
  return { K, N, transB };
}

/** sign(W) as 8-row panels of N rows of K, once per session. */
function packedMatmulWeights(ctx: OpCtx, K: number, N: number, transB: boolean): Addr {
  return ctx.derived(1, `bits_${transB ? 'nk' : 'kn'}`, bpanelBytes(N, K), (src, dst) => {
    ctx.step('pack_weights_b1_f32', src, N, K, transB ? K : 1, transB ? 1 : N, dst);
  });
}

const binaryMatmul: OpDef = {
  infer(ctx) {
    const { K, N } = matmulShape(ctx);
    checkInput(ctx, K);
    const xd = ctx.dims(0);
    if (xd.length === 0 || (!packedInput(ctx) && xd[xd.length - 1] !== K)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X ${fmtDims(xd)} must end in K=${K}`);
    checkChannels(ctx, N);
    setOutput(ctx, [...xd.slice(0, -1), N], xd.length - 1);
  },
  lower(ctx) {
    const { K, N, transB } = matmulShape(ctx);
    const M = numel(ctx.dims(0).slice(0, -1));
    if (M === 0) return;
    const w = packedMatmulWeights(ctx, K, N, transB);
    let a = ctx.in(0);
    if (!packedInput(ctx)) {
      a = ctx.scratch(M * bitRowBytes(K));
      ctx.step('pack_signs_f32', ctx.in(0), M, K, K, 1, a, nanNegative(ctx));
    }
    ctx.step('bgemm_b1b1', a, w, ctx.out(0), M, N, K, N, epilogue(ctx, N));
  },
};

/** X's NCHW dims (checked): as stored, or [B, C, spatial…] of packed bit NHWC [B, spatial…, bytes]. */
function convInputDims(ctx: OpCtx): readonly number[] {
  const xd = ctx.dims(0);
  const wd = ctx.dims(1);
  const C = wd.length > 1 ? wd[1] * attrInt(ctx, 'group', 1) : 0;
  checkInput(ctx, C);
  return packedInput(ctx) ? [xd[0], C, ...xd.slice(1, -1)] : xd;
}

const binaryConv: OpDef = {
  infer(ctx) {
    const xd = convInputDims(ctx);
    const g = convGeom(ctx, 0, 1, xd);
    checkChannels(ctx, g.M * g.group);
    setOutput(ctx, [xd[0], g.M * g.group, ...g.outSpatial], 1);
  },
  lower(ctx) {
    if (numel(ctx.outDims(0)) === 0) return;
    const xd = convInputDims(ctx);
    const g = convGeom(ctx, 0, 1, xd);
    const batch = xd[0];
    const taps = numel(g.kernel);
    const K = taps * g.C;
    const channels = g.group * g.M;
    const w = ctx.derived(1, 'bconv_w', g.group * bpanelBytes(g.M, K), (src, dst) => {
      ctx.step('pack_bconv_weights_f32', src, g.group, g.M, g.C, taps, dst);
    });
    const P = numel(g.inSpatial);
    let x = ctx.in(0);
    if (!packedInput(ctx)) {
      x = ctx.scratch(batch * P * bitRowBytes(g.group * g.C));
      ctx.step('pack_signs_nchw_f32', ctx.in(0), batch, g.group * g.C, P, x, nanNegative(ctx));
    }
    const chunk = Math.max(1, Math.min(numel(g.outSpatial), Math.floor(BCONV_CHUNK_BYTES / bitRowBytes(K))));
    const scratch = ctx.scratch(bconvScratchBytes(taps, g.C, g.M, chunk));
    ctx.step('bconv_b1b1', x, w, ctx.out(0), ctx.params(geomDescriptor(batch, g, chunk)), epilogue(ctx, channels), scratch);
  },
};

export const binaryOps: Record<string, OpDef> = {
  BinaryMatMul: binaryMatmul,
  BinaryConv: binaryConv,
};

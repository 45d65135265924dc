// ai.lowbit ternary layers: constant weights in {−1, 0, +1} (2 bits each once packed) with a
// per-tensor or per-output-channel scale, over u8/s8 activations with a zero point, on the
// exact integer kernels (assembly/tgemm_t2i8.ts, assembly/tconv_t2i8.ts; a conv with small K runs
// the codes as int8 weights on qconv.ts's kernels: onInt8Conv). What the ternary pass
// (src/passes/ternary.ts) makes of W2A8 QDQ layers and of {−s_n, 0, +s_n} weights behind
// quantised activations.
//
//   TernaryMatMul(A, a_scale, a_zero_point?, W, w_scale, bias?, y_scale?, y_zero_point?)
//     A [..., K] u8/s8; W int8 [K, N], or [N, K] with trans_b = 1; Y [..., N]
//   TernaryConv(X, x_scale, x_zero_point?, W, w_scale, B?, y_scale?, y_zero_point?)
//     Conv attributes (group, strides, dilations, pads, auto_pad, kernel_shape); W int8
//     [M, C/group, kernel…]; Y NCHW
//
//   acc[n] = Σ_k (a − a_zp)·W[k, n], exact (i32; a tap outside X is the zero point: adds 0).
//   With y_scale and y_zero_point (u8/s8, per tensor) — the requantised layer, as QLinearConv /
//   onnxruntime's QGemm compute it:
//     Y = clamp(saturate(round_half_even(f32(acc + bias[n])·m[n]) + y_zp), y_min, y_max)
//     m[n] = f32(f32(a_scale·w_scale[n]) / y_scale); bias int32 [N] on the scale a_scale·w_scale[n]
//     attributes y_min, y_max (default: the output type's range) — a ReLU/Clip before the Q.
//   Without them — the float layer:
//     Y = clamp(f32(acc)·s[n] + bias[n], act_min, act_max), s[n] = f32(a_scale·w_scale[n]),
//     bias float32 [N]; each operation one f32 rounding in this order.
// a_scale, w_scale, y_scale are float32; a_zero_point has A's type. W must be a constant: it is
// packed once per session with the zero-point term bias[n] − a_zp'·Σ_k W[k, n] (⌈N/4⌉·64·⌈K/64⌉ +
// 4·N bytes; ternary_rowc), or with the row sums Σ_k W[k, n] when a_zero_point or the bias is
// computed at run time (then the term is formed per run).

import { dtypeCode } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrFloat, attrInt, type Addr, type OpCtx, type OpDef } from './context.js';
import { convGeom, geomDescriptor, type ConvGeom } from './conv-geom.js';
import { requireType } from './elementwise.js';
import { emitConvI8, useWinograd, winoWeightBytes } from './qconv.js';
import { bytesKey, emitRequantDesc, perTensor, q8Operand, zeroPointType } from './qparams.js';
import { fmtDims } from './shape-util.js';

const EPI_U8 = 1, EPI_S8 = 2, EPI_F32 = 3, ACT_CLAMP = 2, EPI_DESC_HEADER = 48, RQ_TABLE = 48;
const F32 = new Set(['float32'] as const);
const I8 = new Set(['int8'] as const);

/** Input slots, the same for both ops. */
const A = 0, A_SCALE = 1, A_ZP = 2, W = 3, W_SCALE = 4, BIAS = 5, Y_SCALE = 6, Y_ZP = 7;

/** Bytes of N packed ternary rows of K elements (ternary_weights_bytes in assembly/ternary_pack.ts). */
export const ternaryWeightsBytes = (N: number, K: number): number => Math.ceil(N / 4) * 64 * Math.ceil(K / 64);

/** The im2col rows of one chunk of output positions take about this many bytes (in L1/L2). */
const CHUNK_BYTES = 48 * 1024;

const roundUp16 = (x: number): number => Math.ceil(x / 16) * 16;

/** Whether the layer requantises (y_scale and y_zero_point given); fails when only one is. */
function requantises(ctx: OpCtx): boolean {
  const y = ctx.has(Y_SCALE), z = ctx.has(Y_ZP);
  if (y !== z) ctx.fail('LOWBIT_BAD_MODEL', 'y_scale and y_zero_point go together (both for a quantised output, neither for float32)');
  return y;
}

/** W: a constant int8 tensor whose every value is −1, 0 or +1. */
function checkWeights(ctx: OpCtx): void {
  requireType(ctx, W, I8);
  const w = ctx.value(W);
  if (!w) ctx.fail('LOWBIT_UNSUPPORTED', 'W must be a constant (it is packed once per session)');
  const v = new Int8Array(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
  const bad = v.findIndex((x) => x < -1 || x > 1);
  if (bad >= 0) ctx.fail('LOWBIT_BAD_MODEL', `W[${bad}] is ${v[bad]}; ternary weights must be −1, 0 or +1`);
}

/** The quantisation parameters around the integer product; returns whether w_scale is per channel and A is signed. */
function checkParams(ctx: OpCtx, N: number): { perChannel: boolean; aSigned: boolean } {
  const aSigned = q8Operand(ctx, A);
  zeroPointType(ctx, A_ZP, 'a_zero_point', A, 'A');
  perTensor(ctx, A_ZP, 'a_zero_point');
  requireType(ctx, A_SCALE, F32);
  perTensor(ctx, A_SCALE, 'a_scale');
  requireType(ctx, W_SCALE, F32);
  const sd = ctx.dims(W_SCALE);
  const perChannel = numel(sd) !== 1;
  if (perChannel && !(sd.length === 1 && sd[0] === N)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `w_scale ${fmtDims(sd)} must be one value or one per output channel ([${N}])`);
  }
  const q = requantises(ctx);
  if (q) {
    requireType(ctx, Y_SCALE, F32);
    perTensor(ctx, Y_SCALE, 'y_scale');
    q8Operand(ctx, Y_ZP);
    perTensor(ctx, Y_ZP, 'y_zero_point');
  }
  if (ctx.has(BIAS)) {
    requireType(ctx, BIAS, q ? new Set(['int32'] as const) : F32);
    const bd = ctx.dims(BIAS);
    if (bd.length !== 1 || bd[0] !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias ${fmtDims(bd)} must be [${N}] (one per output channel)`);
  }
  return { perChannel, aSigned };
}

/**
 * W packed once per session: N ternary rows (by `pack`) followed by rowc[n] = bias[n] −
 * a_zp'·Σ_k W[k, n] (the integer bias only when requantising): formed with the packing when
 * a_zero_point and the bias are constants (the usual case), else from the row sums per run.
 */
function packedWeights(ctx: OpCtx, key: string, N: number, K: number, aSigned: boolean, q: boolean, pack: (src: Addr, dst: Addr) => void): { wp: Addr; rowc: Addr } {
  const rows = ternaryWeightsBytes(N, K);
  const hasBias = q && ctx.has(BIAS);
  const zp = ctx.has(A_ZP) ? ctx.value(A_ZP) : undefined;
  const atPack = (!ctx.has(A_ZP) || zp !== undefined) && (!hasBias || ctx.value(BIAS) !== undefined);
  const rowcKey = atPack ? `_rowc${+aSigned}_${zp ? zp.bytes[0] : 'none'}_${hasBias ? ctx.node.inputs[BIAS] : 'none'}` : '';
  const wp = ctx.derived(W, key + rowcKey, rows + 4 * N, (src, dst) => {
    pack(src, dst);
    const sums = ctx.offset(dst, rows);
    ctx.step('ternary_row_sums', dst, N, K, sums);
    if (atPack) {
      // In place: rowc[n] reads sums[n] only.
      ctx.step('ternary_rowc', sums, N, zp ? ctx.params(zp.bytes) : 0, aSigned ? 1 : 0, hasBias ? ctx.params(ctx.value(BIAS)!.bytes) : 0, sums);
    }
  });
  if (atPack) return { wp, rowc: ctx.offset(wp, rows) };
  const rowc = ctx.scratch(4 * N);
  ctx.step('ternary_rowc', ctx.offset(wp, rows), N, ctx.has(A_ZP) ? ctx.in(A_ZP) : 0, aSigned ? 1 : 0, hasBias ? ctx.in(BIAS) : 0, rowc);
  return { wp, rowc };
}

/**
 * The multipliers f32(f32(a_scale·w_scale[n]) / y) (qlinear_requant_desc's table; y = y_scale,
 * or 1 for the float layer, where the quotient is exact): formed once per session when the
 * scales are constants (the usual case), else per run.
 */
function scaleTable(ctx: OpCtx, count: number, q: boolean): { table: Addr; perSession: boolean } {
  const aS = ctx.value(A_SCALE), yS = q ? ctx.value(Y_SCALE) : undefined;
  if (ctx.value(W_SCALE) && aS && (!q || yS)) {
    const key = `ternary_rq_${bytesKey(aS.bytes)}_${yS ? bytesKey(yS.bytes) : '1'}`;
    const table = ctx.derived(W_SCALE, key, 4 * count, (src, dst) => {
      // Only the table is kept: the descriptor's header holds an address.
      const rq = ctx.scratch(RQ_TABLE + 4 * count);
      ctx.step('qlinear_requant_desc', ctx.params(aS.bytes), 1, src, count, ctx.params(yS ? yS.bytes : Float32Array.of(1)), dtypeCode('float32'), 0, 0, rq);
      ctx.step('copy_bytes', ctx.offset(rq, RQ_TABLE), dst, 4 * count);
    });
    return { table, perSession: true };
  }
  const y = q ? ctx.in(Y_SCALE) : ctx.params(Float32Array.of(1));
  const rq = emitRequantDesc(ctx, 'float32', { addr: ctx.in(A_SCALE), count: 1 }, { addr: ctx.in(W_SCALE), count }, y, q ? ctx.in(Y_ZP) : ctx.params(Uint8Array.of(0)), false);
  return { table: ctx.offset(rq, RQ_TABLE), perSession: false };
}

/**
 * The gemm_i8_epilogue.ts descriptor (formed per run: it holds addresses): requantise by m[n]
 * clamped to [y_min, y_max], or the float epilogue with s[n] = f32(a_scale·w_scale[n]), + bias,
 * clamped to [act_min, act_max].
 */
function emitEpilogue(ctx: OpCtx, N: number, perChannel: boolean, q: boolean): Addr {
  const count = perChannel ? N : 1;
  const { table, perSession } = scaleTable(ctx, count, q);
  // A table formed once per session stays where it is (a negative count): no copy per run.
  const sCount = perSession ? -count : count;
  if (q) {
    const ySigned = ctx.dtype(Y_ZP) === 'int8';
    const yZp = ctx.requireValue(Y_ZP, 'the output zero point is part of the epilogue descriptor');
    const zp = ySigned ? (yZp.bytes[0] << 24) >> 24 : yZp.bytes[0];
    const [qmin, qmax] = ySigned ? [-128, 127] : [0, 255];
    const lo = attrInt(ctx, 'y_min', qmin);
    const hi = attrInt(ctx, 'y_max', qmax);
    if (lo > hi) ctx.fail('LOWBIT_BAD_MODEL', `y_min ${lo} is above y_max ${hi}`);
    const clamps = lo > qmin || hi < qmax;
    const epi = ctx.scratch(EPI_DESC_HEADER + 4 * count);
    ctx.step('gemm_i8_epilogue_desc', epi, ySigned ? EPI_S8 : EPI_U8, table, sCount, zp, 0, 0, clamps ? ACT_CLAMP : 0, lo, hi);
    return epi;
  }
  const lo = attrFloat(ctx, 'act_min', -Infinity);
  const hi = attrFloat(ctx, 'act_max', Infinity);
  if (lo > hi) ctx.fail('LOWBIT_BAD_MODEL', `act_min ${lo} is above act_max ${hi}`);
  const act = lo === -Infinity && hi === Infinity ? 0 : ACT_CLAMP;
  const bCount = ctx.has(BIAS) ? N : 0;
  const epi = ctx.scratch(EPI_DESC_HEADER + 4 * (count + bCount));
  ctx.step('gemm_i8_epilogue_desc', epi, EPI_F32, table, sCount, 0, bCount ? ctx.in(BIAS) : 0, bCount, act, lo, hi);
  return epi;
}

function outType(ctx: OpCtx): 'uint8' | 'int8' | 'float32' {
  return requantises(ctx) ? (ctx.dtype(Y_ZP) as 'uint8' | 'int8') : 'float32';
}

function matmulShape(ctx: OpCtx): { rows: number; K: number; N: number; transB: boolean; out: number[] } {
  const wd = ctx.dims(W);
  const ad = ctx.dims(A);
  if (wd.length !== 2 || ad.length < 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} must be [..., K] and W ${fmtDims(wd)} 2-D`);
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const [K, N] = transB ? [wd[1], wd[0]] : wd;
  if (ad[ad.length - 1] !== K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} and W ${fmtDims(wd)} (trans_b=${+transB}) disagree on K`);
  if (K === 0) ctx.fail('LOWBIT_UNSUPPORTED', 'an empty inner dimension (K = 0) is not supported');
  return { rows: numel(ad.slice(0, -1)), K, N, transB, out: [...ad.slice(0, -1), N] };
}

const ternaryMatmul: OpDef = {
  infer(ctx) {
    const p = matmulShape(ctx);
    checkWeights(ctx);
    checkParams(ctx, p.N);
    ctx.setOutput(0, outType(ctx), p.out);
  },
  lower(ctx) {
    const p = matmulShape(ctx);
    const { perChannel, aSigned } = checkParams(ctx, p.N);
    if (p.rows * p.N === 0) return;
    const q = requantises(ctx);
    const { wp, rowc } = packedWeights(ctx, `ternary_t${+p.transB}`, p.N, p.K, aSigned, q, (src, dst) => {
      ctx.step('pack_ternary_i8', src, p.N, p.K, p.transB ? p.K : 1, p.transB ? 1 : p.N, dst);
    });
    ctx.step('tgemm_t2i8', ctx.in(A), p.K, aSigned ? 1 : 0, wp, rowc, ctx.out(0), p.rows, p.N, p.K, p.N, emitEpilogue(ctx, p.N, perChannel, q),
      ctx.scratch(tgemmScratchBytes(p.rows, p.K)));
  },
};

/** Output positions per im2col chunk: about CHUNK_BYTES of rows, a multiple of 4 (the GEMM's row quad). */
function chunkOf(g: ConvGeom, K: number): number {
  const S = numel(g.outSpatial);
  return Math.min(S, Math.max(4, Math.floor(CHUNK_BYTES / roundUp16(K) / 4) * 4));
}

/** tgemm_t2i8_scratch_bytes(M, K): 64 bytes a group of 16 of the packed row blocks (≤ 16 quads, ≤ 4096 groups). */
export function tgemmScratchBytes(M: number, K: number): number {
  return M >= 4 && K >= 16 ? Math.min(4096, Math.min(16, M >> 2) * (K >> 4)) * 64 : 0;
}

/** tconv_t2i8_scratch_bytes: one image and group's position-major input, a chunk of im2col rows, the GEMM's packing space. */
export function tconvScratchBytes(g: ConvGeom, chunk: number): number {
  const K = numel(g.kernel) * g.C;
  return roundUp16(numel(g.inSpatial) * g.C) + chunk * roundUp16(K) + tgemmScratchBytes(chunk, K);
}

/**
 * Whether the int8 conv kernels (qconv.ts: the codes are int8 weights, the same exact sums; the
 * epilogue indexed by channel alike) are faster than tconv_t2i8 on g (bench/kernels/tconv-dispatch.ts,
 * after the row-blocked ternary tile): below K = 256 (im2col and the 4×2 tile do not pay: tconv
 * 17× conv_i8's time at K = 9, 2.8× at K = 16, 1.15× at K = 144; from K = 256 it wins, 0.72× at
 * 1×1 256→256 14², 0.78× at 3×3 32→32 7²), and Winograd over many positions (≥ 32² outputs) with
 * small weights (16 i16 values per 3×3 filter, ≤ 4 MiB): 0.93× tconv's time at 64→64 56², but
 * 1.34× at 128→128 14², where tconv_t2i8 wins as on large weights over few positions.
 */
export function onInt8Conv(g: ConvGeom): boolean {
  const winograd = useWinograd(g) && numel(g.outSpatial) >= 1024 && g.group * winoWeightBytes(g.M, g.C) <= 4 << 20;
  return numel(g.kernel) * g.C < 256 || winograd;
}

const ternaryConv: OpDef = {
  infer(ctx) {
    const g = convGeom(ctx, A, W);
    checkWeights(ctx);
    checkParams(ctx, g.M * g.group);
    ctx.setOutput(0, outType(ctx), [ctx.dims(A)[0], g.M * g.group, ...g.outSpatial]);
  },
  lower(ctx) {
    const g = convGeom(ctx, A, W);
    const channels = g.M * g.group;
    const { perChannel, aSigned } = checkParams(ctx, channels);
    if (numel(ctx.outDims(0)) === 0) return;
    const q = requantises(ctx);
    const T = numel(g.kernel);
    const K = T * g.C;
    const epi = emitEpilogue(ctx, channels, perChannel, q);
    if (onInt8Conv(g)) {
      const bias = q && ctx.has(BIAS) ? ctx.in(BIAS) : 0;
      emitConvI8(ctx, g, { x: ctx.in(A), xSigned: aSigned, xZp: ctx.has(A_ZP) ? ctx.in(A_ZP) : 0, w: W, wSigned: true, wZp: -1, wPerChannel: false, bias, epi });
      return;
    }
    const { wp, rowc } = packedWeights(ctx, 'tconv', channels, K, aSigned, q, (src, dst) => {
      ctx.step('pack_ternary_conv_i8', src, channels, g.C, T, dst);
    });
    const chunk = chunkOf(g, K);
    ctx.step('tconv_t2i8', ctx.params(geomDescriptor(ctx.dims(A)[0], g, chunk)), ctx.in(A), aSigned ? 1 : 0,
      ctx.has(A_ZP) ? ctx.in(A_ZP) : 0, wp, rowc, epi, ctx.out(0),
      ctx.scratch(tconvScratchBytes(g, chunk)));
  },
};

export const ternaryOps: Record<string, OpDef> = {
  TernaryMatMul: ternaryMatmul,
  TernaryConv: ternaryConv,
};

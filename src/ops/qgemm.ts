// ai.lowbit QGemm and QGemmToFloat: an 8-bit GEMM against constant 8-bit weights on the exact
// int8 kernel (assembly/gemm_i8.ts), with the epilogue the qdq-int8 and dynamic-int8 passes
// fuse into it. A is [..., K] u8/s8 (leading dims are more rows), Y is [..., N]; B is a 2-D
// constant [K, N], or [N, K] when trans_b = 1, packed once per session.
//
// QGemm(A, a_scale, a_zero_point, B, b_scale, b_zero_point, C?, y_scale, y_zero_point)
//   — the input layout of onnxruntime's com.microsoft QGemm with alpha = 1 —
//   Y = saturate(round_half_even(f32(acc + C[n]) · m[n]) + y_zp) clamped to [y_min, y_max],
//   acc = Σ_k (A[r,k] − a_zp)(B[k,n] − b_zp[n]), m[n] = f32(f32(a_scale·b_scale[n]) / y_scale)
//   formed as for QLinearMatMul (qlinear_requant_desc). C is int32 [N] with scale
//   a_scale·b_scale[n] and zero point 0; a_scale, a_zp, y_scale, y_zp are per tensor; b_scale
//   and b_zp one value or [N]. Attributes trans_b, y_min, y_max (default: the type's range).
// QGemmToFloat(A, a_zero_point, B, b_zero_point, scale, bias?)
//   Y = clamp(f32(acc) · scale[n] + bias[n], act_min, act_max), float32, each operation one
//   f32 rounding in this order — DequantizeLinear-free dynamic quantisation (Cast → Mul → Add)
//   and the float tail of a QDQ layer. scale is one value or [N] (any runtime value), bias
//   float32 [N]. Attributes trans_b, act_min, act_max (default ∓inf; ReLU is act_min = 0).

import { numel } from '../ir/tensor.js';
import { attrFloat, attrInt, type Addr, type OpCtx, type OpDef } from './context.js';
import { requireType } from './elementwise.js';
import { emitRequantDesc, packBBytes, packedWeights, packLayout, perTensor, q8Operand, qgemmScratchBytes, zeroPointType } from './qparams.js';
import { fmtDims } from './shape-util.js';

const EPI_U8 = 1, EPI_S8 = 2, EPI_F32 = 3, ACT_CLAMP = 2, EPI_DESC_HEADER = 48;
const F32 = new Set(['float32'] as const);
const I32 = new Set(['int32'] as const);

interface Slots {
  a: number;
  aZp: number;
  b: number;
  bZp: number;
}

const QGEMM: Slots = { a: 0, aZp: 2, b: 3, bZp: 5 };
const TO_FLOAT: Slots = { a: 0, aZp: 1, b: 2, bZp: 3 };

interface Shape {
  rows: number;
  K: number;
  N: number;
  out: number[];
  transB: boolean;
  aSigned: boolean;
  bSigned: boolean;
}

function shapeOf(ctx: OpCtx, s: Slots): Shape {
  const aSigned = q8Operand(ctx, s.a);
  const bSigned = q8Operand(ctx, s.b);
  zeroPointType(ctx, s.aZp, 'a_zero_point', s.a, 'A');
  zeroPointType(ctx, s.bZp, 'b_zero_point', s.b, 'B');
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const ad = ctx.dims(s.a);
  const bd = ctx.dims(s.b);
  if (ad.length < 1 || bd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} must be [..., K] and B ${fmtDims(bd)} 2-D`);
  const [K, N] = transB ? [bd[1], bd[0]] : bd;
  if (ad[ad.length - 1] !== K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} and B ${fmtDims(bd)} (trans_b=${+transB}) disagree on K`);
  if (K === 0) ctx.fail('LOWBIT_UNSUPPORTED', 'an empty inner dimension (K = 0) is not supported');
  perTensor(ctx, s.aZp, 'a_zero_point');
  perColumn(ctx, s.bZp, 'b_zero_point', N);
  return { rows: numel(ad.slice(0, -1)), K, N, out: [...ad.slice(0, -1), N], transB, aSigned, bSigned };
}

/** Whether input i (when present) holds one value per column; fails unless it is that or one value. */
function perColumn(ctx: OpCtx, i: number, name: string, N: number): boolean {
  if (!ctx.has(i)) return false;
  const d = ctx.dims(i);
  if (numel(d) === 1 && d.length <= 1) return false;
  if ((d.length === 1 && d[0] === N) || (d.length === 2 && d[0] === 1 && d[1] === N)) return true;
  return ctx.fail('LOWBIT_SHAPE_MISMATCH', `${name} ${fmtDims(d)} must be one value or one per output column ([${N}])`);
}

/** Packs the constant B once per session; returns its address. */
function packB(ctx: OpCtx, s: Slots, p: Shape): Addr {
  const bPerCol = perColumn(ctx, s.bZp, 'b_zero_point', p.N);
  const ldb = p.transB ? p.K : p.N;
  const layout = packLayout(p.rows);
  return packedWeights(ctx, s.b, s.bZp, packBBytes(p.K, p.N, layout), `qpack_b${+p.bSigned}_t${+p.transB}_l${layout}`, (src, zp, dst) => {
    ctx.step('pack_b_i8', src, ldb, p.transB ? 1 : 0, p.bSigned ? 1 : 0, zp, bPerCol ? 1 : 0, p.K, p.N, dst, layout);
  });
}

function emitGemm(ctx: OpCtx, s: Slots, p: Shape, epi: Addr): void {
  const bp = packB(ctx, s, p);
  ctx.step('qgemm_i8', ctx.in(s.a), p.K, p.aSigned ? 1 : 0, ctx.has(s.aZp) ? ctx.in(s.aZp) : 0, 0, bp,
    ctx.out(0), p.N, p.rows, p.N, p.K, epi, ctx.scratch(qgemmScratchBytes(p.rows, p.K)));
}

/**
 * The epilogue descriptor (assembly/gemm_i8_epilogue.ts) with copies of `sCount` scales and of
 * bias input `bias` ([N] when present) inside it; [lo, hi] clamps unless it is (−inf, inf).
 */
function emitEpilogue(ctx: OpCtx, kind: number, scale: Addr, sCount: number, yZp: number, bias: number, N: number, lo: number, hi: number): Addr {
  const bCount = ctx.has(bias) ? N : 0;
  const epi = ctx.scratch(EPI_DESC_HEADER + 4 * (sCount + bCount));
  const act = lo === -Infinity && hi === Infinity ? 0 : ACT_CLAMP;
  ctx.step('gemm_i8_epilogue_desc', epi, kind, scale, sCount, yZp, bCount ? ctx.in(bias) : 0, bCount, act, lo, hi);
  return epi;
}

/** A bias input: [N] (or [1, N]) of the given types. */
function biasInput(ctx: OpCtx, i: number, types: ReadonlySet<'int32' | 'float32'>, N: number): void {
  if (!ctx.has(i)) return;
  requireType(ctx, i, types);
  if (!perColumn(ctx, i, 'bias', N) && N !== 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias ${fmtDims(ctx.dims(i))} must be [${N}]`);
}

const qgemm: OpDef = {
  infer(ctx) {
    const p = shapeOf(ctx, QGEMM);
    for (const [i, name] of [[1, 'a_scale'], [4, 'b_scale'], [7, 'y_scale']] as const) {
      requireType(ctx, i, F32);
      if (name !== 'b_scale') perTensor(ctx, i, name);
    }
    perColumn(ctx, 4, 'b_scale', p.N);
    perTensor(ctx, 8, 'y_zero_point');
    q8Operand(ctx, 8);
    biasInput(ctx, 6, I32, p.N);
    ctx.setOutput(0, ctx.dtype(8), p.out);
  },
  lower(ctx) {
    const p = shapeOf(ctx, QGEMM);
    if (p.rows * p.N === 0) return;
    const ySigned = ctx.dtype(8) === 'int8';
    const yZp = ctx.requireValue(8, 'the output zero point is part of the epilogue descriptor');
    const zp = ySigned ? (yZp.bytes[0] << 24) >> 24 : yZp.bytes[0];
    const bCols = perColumn(ctx, 4, 'b_scale', p.N);
    const rq = emitRequantDesc(ctx, 'float32', { addr: ctx.in(1), count: 1 }, { addr: ctx.in(4), count: bCols ? p.N : 1 },
      ctx.in(7), ctx.in(8), ySigned);
    const [qmin, qmax] = ySigned ? [-128, 127] : [0, 255];
    const lo = attrInt(ctx, 'y_min', qmin);
    const hi = attrInt(ctx, 'y_max', qmax);
    if (lo > hi) ctx.fail('LOWBIT_BAD_MODEL', `y_min ${lo} is above y_max ${hi}`);
    // The multiplier table qlinear_requant_desc formed sits after its 48-byte descriptor.
    const epi = emitEpilogue(ctx, ySigned ? EPI_S8 : EPI_U8, ctx.offset(rq, 48), bCols ? p.N : 1, zp, 6, p.N, lo, hi);
    emitGemm(ctx, QGEMM, p, epi);
  },
};

const qgemmToFloat: OpDef = {
  infer(ctx) {
    const p = shapeOf(ctx, TO_FLOAT);
    requireType(ctx, 4, F32);
    perColumn(ctx, 4, 'scale', p.N);
    biasInput(ctx, 5, F32, p.N);
    ctx.setOutput(0, 'float32', p.out);
  },
  lower(ctx) {
    const p = shapeOf(ctx, TO_FLOAT);
    if (p.rows * p.N === 0) return;
    const lo = attrFloat(ctx, 'act_min', -Infinity);
    const hi = attrFloat(ctx, 'act_max', Infinity);
    const epi = emitEpilogue(ctx, EPI_F32, ctx.in(4), perColumn(ctx, 4, 'scale', p.N) ? p.N : 1, 0, 5, p.N, lo, hi);
    emitGemm(ctx, TO_FLOAT, p, epi);
  },
};

export const qgemmOps: Record<string, OpDef> = {
  QGemm: qgemm,
  QGemmToFloat: qgemmToFloat,
};

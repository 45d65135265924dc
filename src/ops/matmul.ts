// MatMul and Gemm in f32 on the packed-panel GEMM kernel. Constant B is packed once per session;
// a runtime B is packed per call into scratch. The same definitions serve `ai.lowbit`
// LMulMatMul / LMulGemm (src/passes/lmul.ts): the GEMM's products become L-Mul on
// `mantissa_bits`-bit mantissas (lmul_gemm_f32, same packed B, A read in place).

import { numel } from '../ir/tensor.js';
import { attrFloat, attrInt, fusedActivation, type Addr, type OpCtx, type OpDef } from './context.js';
import { B, emitBinary, requireType } from './elementwise.js';
import { broadcastOrFail, fmtDims, stridesOf } from './shape-util.js';
import { emitCopy } from './shape.js';

const F32 = new Set(['float32'] as const);

export function packedBytes(K: number, N: number): number {
  return Math.ceil(N / 8) * K * 32;
}

/** Packs a known 2-D B (K×N, or N×K when transB) once per session. */
export function packedConstB(ctx: OpCtx, i: number, K: number, N: number, transB: boolean): Addr {
  return ctx.derived(i, `packb_f32${transB ? 't' : ''}`, packedBytes(K, N), (src, dst) => {
    ctx.step('pack_b_f32', src, dst, K, N, transB ? K : N, transB ? 1 : 0);
  });
}

export interface Epilogue {
  bias?: Addr;
  /** 1 = per column (length N), 2 = per row (length M). */
  biasMode?: 1 | 2;
  /** 0 none, 1 relu, 2 clamp. */
  act?: 0 | 1 | 2;
  lo?: number;
  hi?: number;
}

export function packedABytes(M: number, K: number): number {
  return Math.ceil(M / 4) * K * 16;
}

/** Mantissa bits of an L-Mul node (LMulMatMul/LMulGemm/LMulConv), 0 for the exact f32 ops. */
export function lmulBits(ctx: OpCtx): number {
  if (ctx.node.domain !== 'ai.lowbit' || !ctx.node.opType.startsWith('LMul')) return 0;
  const m = attrInt(ctx, 'mantissa_bits', 0);
  if (!Number.isInteger(m) || m < 1 || m > 23) ctx.fail('LOWBIT_BAD_MODEL', `mantissa_bits ${m} is not in 1…23`);
  return m;
}

/**
 * C = A·B with B packed: M ≥ 4 packs A into scratch for the 4×8 packed kernel; smaller M (GEMV)
 * reads A in place. lmul > 0: L-Mul products with that many mantissa bits (A read in place).
 */
export function emitGemm(
  ctx: OpCtx, a: Addr, lda: number, bp: Addr, c: Addr, ldc: number, M: number, N: number, K: number, e: Epilogue = {}, lmul = 0,
): void {
  if (M === 0 || N === 0) return;
  const epi = [e.bias ?? 0, e.bias ? e.biasMode ?? 1 : 0, e.act ?? 0, e.lo ?? 0, e.hi ?? 0];
  if (lmul > 0) {
    ctx.step('lmul_gemm_f32', a, lda, bp, c, ldc, M, N, K, ...epi, lmul);
    return;
  }
  if (M < 4) {
    ctx.step('gemm_f32', a, lda, bp, c, ldc, M, N, K, ...epi);
    return;
  }
  const ap = ctx.scratch(packedABytes(M, K));
  ctx.step('pack_a_f32', a, lda, ap, M, K);
  ctx.step('gemm_f32_pp', ap, bp, c, ldc, M, N, K, ...epi);
}

/** numpy.matmul shapes of inputs ai and bi: M, K, N, the batch dims of each and of the output. */
export function matmulShapes(ctx: OpCtx, ai = 0, bi = 1) {
  const ad = ctx.dims(ai);
  const bd = ctx.dims(bi);
  if (ad.length === 0 || bd.length === 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', 'MatMul inputs must have rank ≥ 1');
  const a2 = ad.length === 1 ? [1, ad[0]] : ad;
  const b2 = bd.length === 1 ? [bd[0], 1] : bd;
  const M = a2[a2.length - 2];
  const K = a2[a2.length - 1];
  const N = b2[b2.length - 1];
  if (b2[b2.length - 2] !== K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot multiply ${fmtDims(ad)} by ${fmtDims(bd)}`);
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const batch = broadcastOrFail(ctx, [aBatch, bBatch]);
  const out = [...batch];
  if (ad.length > 1) out.push(M);
  if (bd.length > 1) out.push(N);
  return { M, K, N, aBatch, bBatch, batch, out };
}

/** Offset (in matrices) of batch index `i` of `batch` within an operand with batch dims `own`. */
export function batchOffset(i: number, batch: readonly number[], own: readonly number[]): number {
  const st = stridesOf(own);
  let off = 0;
  let rem = i;
  for (let k = batch.length - 1; k >= 0; k--) {
    const idx = rem % batch[k];
    rem = Math.floor(rem / batch[k]);
    const ok = k - (batch.length - own.length);
    if (ok >= 0 && own[ok] !== 1) off += idx * st[ok];
  }
  return off;
}

const matmul: OpDef = {
  infer(ctx) {
    requireType(ctx, 0, F32);
    requireType(ctx, 1, F32);
    ctx.setOutput(0, 'float32', matmulShapes(ctx).out);
  },
  lower(ctx) {
    const { M, K, N, aBatch, bBatch, batch } = matmulShapes(ctx);
    const nb = numel(batch);
    const out = ctx.out(0);
    const e = fusedActivation(ctx);
    const lm = lmulBits(ctx);
    if (ctx.value(1) && numel(bBatch) === 1) {
      // Weights: pack once; every batch of A is just more rows.
      const bp = packedConstB(ctx, 1, K, N, false);
      if (numel(aBatch) === nb) {
        emitGemm(ctx, ctx.in(0), K, bp, out, N, M * nb, N, K, e, lm);
        return;
      }
      for (let i = 0; i < nb; i++) {
        emitGemm(ctx, ctx.offset(ctx.in(0), batchOffset(i, batch, aBatch) * M * K * 4), K, bp, ctx.offset(out, i * M * N * 4), N, M, N, K, e, lm);
      }
      return;
    }
    const bp = ctx.scratch(packedBytes(K, N));
    for (let i = 0; i < nb; i++) {
      ctx.step('pack_b_f32', ctx.offset(ctx.in(1), batchOffset(i, batch, bBatch) * K * N * 4), bp, K, N, N, 0);
      emitGemm(ctx, ctx.offset(ctx.in(0), batchOffset(i, batch, aBatch) * M * K * 4), K, bp, ctx.offset(out, i * M * N * 4), N, M, N, K, e, lm);
    }
  },
};

const gemm: OpDef = {
  infer(ctx) {
    requireType(ctx, 0, F32);
    requireType(ctx, 1, F32);
    const ad = ctx.dims(0);
    const bd = ctx.dims(1);
    if (ad.length !== 2 || bd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `Gemm needs 2-D inputs, got ${fmtDims(ad)} and ${fmtDims(bd)}`);
    const tA = attrInt(ctx, 'transA', 0);
    const tB = attrInt(ctx, 'transB', 0);
    const [M, K] = tA ? [ad[1], ad[0]] : ad;
    const [K2, N] = tB ? [bd[1], bd[0]] : bd;
    if (K !== K2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot multiply ${fmtDims(ad)}${tA ? 'ᵀ' : ''} by ${fmtDims(bd)}${tB ? 'ᵀ' : ''}`);
    if (ctx.has(2)) {
      requireType(ctx, 2, F32);
      const bc = broadcastOrFail(ctx, [ctx.dims(2), [M, N]]);
      if (bc[0] !== M || bc[1] !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `C ${fmtDims(ctx.dims(2))} does not broadcast to [${M},${N}]`);
    }
    ctx.setOutput(0, 'float32', [M, N]);
  },
  lower(ctx) {
    const [M, N] = ctx.outDims(0);
    const tA = attrInt(ctx, 'transA', 0);
    const tB = attrInt(ctx, 'transB', 0);
    const K = tA ? ctx.dims(0)[0] : ctx.dims(0)[1];
    const alpha = attrFloat(ctx, 'alpha', 1);
    const beta = attrFloat(ctx, 'beta', 1);
    const out = ctx.out(0);
    let a = ctx.in(0);
    if (tA) {
      const t = ctx.scratch(M * K * 4);
      emitCopy(ctx, 4, a, t, [M, K], [1, M], [K, 1]);
      a = t;
    }
    let bp: Addr;
    if (ctx.value(1)) bp = packedConstB(ctx, 1, K, N, !!tB);
    else {
      bp = ctx.scratch(packedBytes(K, N));
      ctx.step('pack_b_f32', ctx.in(1), bp, K, N, tB ? K : N, tB ? 1 : 0);
    }
    const cd = ctx.has(2) ? ctx.dims(2) : undefined;
    const cIsRow = cd !== undefined && numel(cd) === N && (cd.length === 1 || (cd.length === 2 && cd[0] === 1));
    const e = fusedActivation(ctx);
    if (alpha === 1 && cd && cIsRow && beta === 1 && N > 1) {
      emitGemm(ctx, a, K, bp, out, N, M, N, K, { bias: ctx.in(2), biasMode: 1, ...e }, lmulBits(ctx));
      return;
    }
    // src/passes/fuse-activation.ts fuses only Gemms whose whole epilogue is the one above, or none.
    if (e.act !== 0 && (cd || alpha !== 1)) ctx.fail('LOWBIT_BAD_MODEL', 'a fused activation needs alpha = beta = 1 and a row bias');
    emitGemm(ctx, a, K, bp, out, N, M, N, K, e, lmulBits(ctx));
    const scalar = (v: number) => ({ addr: ctx.params(new Float32Array([v])), dims: [] as number[] });
    if (alpha !== 1) emitBinary(ctx, B.MUL, 'float32', { addr: out, dims: [M, N] }, scalar(alpha), out, [M, N]);
    if (cd && beta !== 0) {
      let c = { addr: ctx.in(2), dims: cd as readonly number[] };
      if (beta !== 1) {
        const t = ctx.scratch(numel(cd) * 4);
        emitBinary(ctx, B.MUL, 'float32', c, scalar(beta), t, cd);
        c = { addr: t, dims: cd };
      }
      emitBinary(ctx, B.ADD, 'float32', { addr: out, dims: [M, N] }, c, out, [M, N]);
    }
  },
};

export const matmulOps: Record<string, OpDef> = {
  MatMul: matmul,
  Gemm: gemm,
};

/** ai.lowbit: MatMul/Gemm with a Relu/Clip applied as the GEMM stores (src/passes/fuse-activation.ts). */
export const fusedMatmulOps: Record<string, OpDef> = {
  FusedMatMul: matmul,
  FusedGemm: gemm,
};

/** ai.lowbit: MatMul/Gemm with L-Mul products (src/passes/lmul.ts); fused activations kept. */
export const lmulMatmulOps: Record<string, OpDef> = {
  LMulMatMul: matmul,
  LMulGemm: gemm,
};

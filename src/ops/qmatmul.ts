// QLinearMatMul (opset 10, 21) and MatMulInteger on the exact int8 GEMM (assembly/gemm_i8.ts).
// numpy.matmul shapes (batch broadcast, 1-D operands). A's zero point and (QLinearMatMul) scale
// are per tensor or per row ([M] or [..., M, 1]); B's per tensor or per column ([N] or
// [..., 1, N]); a leading batch part must be all ones or equal the operand's batch dims.
// B is packed once per session when it and its zero point are constants, per call otherwise.

import { numel } from '../ir/tensor.js';
import type { Addr, OpCtx, OpDef } from './context.js';
import { batchOffset, matmulShapes } from './matmul.js';
import {
  emitRequantDesc, matrixParam, packBBytes, packedWeights, packLayout, perTensor, q8Operand, qgemmScratchBytes, sameParamShape,
  scaleType, storeI32Epilogue, zeroPointType, type QParamLayout,
} from './qparams.js';

/** Input slots of one op: a, b and their zero points; scales and the output's for QLinearMatMul. */
interface Slots {
  a: number;
  b: number;
  aZp: number;
  bZp: number;
  q?: { aScale: number; bScale: number; yScale: number; yZp: number };
}

const QLINEAR: Slots = { a: 0, b: 3, aZp: 2, bZp: 5, q: { aScale: 1, bScale: 4, yScale: 6, yZp: 7 } };
const INTEGER: Slots = { a: 0, b: 1, aZp: 2, bZp: 3 };

const NAMES: Record<number, string>[] = [
  { 0: 'a', 1: 'a_scale', 2: 'a_zero_point', 3: 'b', 4: 'b_scale', 5: 'b_zero_point', 6: 'y_scale', 7: 'y_zero_point' },
  { 0: 'A', 1: 'B', 2: 'a_zero_point', 3: 'b_zero_point' },
];

interface Plan {
  M: number;
  K: number;
  N: number;
  aBatch: readonly number[];
  bBatch: readonly number[];
  batch: readonly number[];
  out: number[];
  aSigned: boolean;
  bSigned: boolean;
  /** Layout of A's zero point (and scale), B's zero point (and scale). */
  aParam: QParamLayout;
  bParam: QParamLayout;
}

/** Checks types and parameter shapes; every check names the offending input. */
function analyse(ctx: OpCtx, s: Slots): Plan {
  const name = (i: number) => NAMES[s.q ? 0 : 1][i];
  const aSigned = q8Operand(ctx, s.a);
  const bSigned = q8Operand(ctx, s.b);
  const { M, K, N, aBatch, bBatch, batch, out } = matmulShapes(ctx, s.a, s.b);
  zeroPointType(ctx, s.aZp, name(s.aZp), s.a, name(s.a));
  zeroPointType(ctx, s.bZp, name(s.bZp), s.b, name(s.b));
  const one: QParamLayout = { count: 1, perBatch: false };
  // A 1-D operand has no row (column) axis: its parameters are per tensor.
  const aRows = ctx.dims(s.a).length > 1;
  const bCols = ctx.dims(s.b).length > 1;
  const layout = (i: number, role: 'row' | 'col') => {
    if (!ctx.has(i)) return one;
    if (role === 'row' ? !aRows : !bCols) {
      perTensor(ctx, i, name(i));
      return one;
    }
    return role === 'row' ? matrixParam(ctx, i, name(i), 'row', M, aBatch) : matrixParam(ctx, i, name(i), 'col', N, bBatch);
  };
  let aParam = layout(s.aZp, 'row');
  let bParam = layout(s.bZp, 'col');
  if (s.q) {
    const q = s.q;
    for (const i of [q.yZp, s.aZp, s.bZp]) {
      if (!ctx.has(i)) ctx.fail('LOWBIT_BAD_MODEL', `${name(i)} is required`);
    }
    scaleType(ctx, [[q.aScale, name(q.aScale)], [q.bScale, name(q.bScale)], [q.yScale, name(q.yScale)]]);
    q8Operand(ctx, q.yZp);
    perTensor(ctx, q.yScale, name(q.yScale));
    perTensor(ctx, q.yZp, name(q.yZp));
    sameParamShape(ctx, q.aScale, name(q.aScale), s.aZp, name(s.aZp));
    sameParamShape(ctx, q.bScale, name(q.bScale), s.bZp, name(s.bZp));
    aParam = layout(q.aScale, 'row');
    bParam = layout(q.bScale, 'col');
  }
  if (K === 0 && M * N > 0) ctx.fail('LOWBIT_UNSUPPORTED', 'an empty inner dimension (K = 0) is not supported');
  return { M, K, N, aBatch, bBatch, batch, out, aSigned, bSigned, aParam, bParam };
}

function infer(s: Slots) {
  return (ctx: OpCtx) => {
    const p = analyse(ctx, s);
    ctx.setOutput(0, s.q ? ctx.dtype(s.q.yZp) : 'int32', p.out);
  };
}

/** Address of item `i`'s parameters (elemBytes each) of an input with layout `l`. */
function paramAt(ctx: OpCtx, input: number, l: QParamLayout, elemBytes: number, batchIndex: number, own: readonly number[], batch: readonly number[]): Addr {
  const base = ctx.in(input);
  return l.perBatch ? ctx.offset(base, batchOffset(batchIndex, batch, own) * l.count * elemBytes) : base;
}

function lower(s: Slots) {
  return (ctx: OpCtx) => {
    const p = analyse(ctx, s);
    const { M, K, N, batch } = p;
    const nb = numel(batch);
    if (M * N * nb === 0) return;
    const ob = s.q ? 1 : 4;
    const out = ctx.out(0);
    const aRows = p.aParam.count > 1;
    const bCols = p.bParam.count > 1;
    const scaleBytes = s.q && ctx.dtype(s.q.aScale) === 'float16' ? 2 : 4;
    const sharedB = numel(p.bBatch) === 1;
    const oneB = sharedB && !p.bParam.perBatch;
    // A whole batch of A against one B with per-tensor A parameters is one taller GEMM.
    const merged = oneB && numel(p.aBatch) === nb && !aRows;
    const rows = merged ? M * nb : M;
    const layout = packLayout(rows);
    const packB = (src: Addr, zp: Addr | 0, dst: Addr) => {
      ctx.step('pack_b_i8', src, N, 0, p.bSigned ? 1 : 0, zp, bCols ? 1 : 0, K, N, dst, layout);
    };
    const constB = oneB
      ? packedWeights(ctx, s.b, s.bZp, packBBytes(K, N, layout), `qpack_b${+p.bSigned}_l${layout}`, packB) : undefined;
    const bScratch = constB ? undefined : ctx.scratch(packBBytes(K, N, layout));
    const gemmScratch = ctx.scratch(qgemmScratchBytes(rows, K));
    const fixedEpi = !s.q ? storeI32Epilogue(ctx) : undefined;
    let sharedEpi: Addr | undefined;
    for (let i = 0; i < (merged ? 1 : nb); i++) {
      const aOff = batchOffset(i, batch, p.aBatch);
      const bOff = batchOffset(i, batch, p.bBatch);
      const aZp = ctx.has(s.aZp) ? paramAt(ctx, s.aZp, p.aParam, 1, i, p.aBatch, batch) : 0;
      let bp = constB;
      if (!bp) {
        bp = bScratch!;
        packB(ctx.offset(ctx.in(s.b), bOff * K * N), ctx.has(s.bZp) ? paramAt(ctx, s.bZp, p.bParam, 1, i, p.bBatch, batch) : 0, bp);
      }
      let epi = fixedEpi ?? sharedEpi;
      if (!epi) {
        const q = s.q!;
        epi = emitRequantDesc(ctx, ctx.dtype(q.aScale),
          { addr: paramAt(ctx, q.aScale, p.aParam, scaleBytes, i, p.aBatch, batch), count: p.aParam.count },
          { addr: paramAt(ctx, q.bScale, p.bParam, scaleBytes, i, p.bBatch, batch), count: p.bParam.count },
          ctx.in(q.yScale), ctx.in(q.yZp), ctx.dtype(q.yZp) === 'int8');
        if (!p.aParam.perBatch && !p.bParam.perBatch) sharedEpi = epi;
      }
      ctx.step('qgemm_i8', ctx.offset(ctx.in(s.a), aOff * M * K), K, p.aSigned ? 1 : 0, aZp, aRows ? 1 : 0, bp,
        ctx.offset(out, i * M * N * ob), N, rows, N, K, epi, gemmScratch);
    }
  };
}

export const qmatmulOps: Record<string, OpDef> = {
  QLinearMatMul: { infer: infer(QLINEAR), lower: lower(QLINEAR) },
  MatMulInteger: { infer: infer(INTEGER), lower: lower(INTEGER) },
};

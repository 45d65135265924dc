// Shared pieces of the QOperator integer ops (qmatmul.ts, qconv.ts): operand and quantisation
// parameter checks, byte sizes of the int8 GEMM's buffers (assembly/gemm_i8_pack.ts), B packing
// and the requantisation descriptor (assembly/qlinear_params.ts).

import { dtypeCode, type DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import type { Addr, OpCtx } from './context.js';
import { requireType } from './elementwise.js';
import { fmtDims } from './shape-util.js';

export const Q8 = new Set<DType>(['uint8', 'int8']);
const SCALE_TYPES = new Set<DType>(['float32', 'float16']);

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** pack_b_i8's layouts: i8 slabs for the GEMV, i16 panels (twice the bytes) for the GEMM. */
export const PB_I8 = 1;
export const PB_I16 = 2;

/**
 * The one layout a product with `rows` rows of A reads: the GEMM's i16 panels from 4 rows on
 * (widened once per session instead of per 4-row block), the GEMV's int8 slabs below.
 */
export function packLayout(rows: number): number {
  return rows >= 4 ? PB_I16 : PB_I8;
}

/** pack_b_i8_bytes(K, N, layouts). */
export function packBBytes(K: number, N: number, layouts: number): number {
  const copies = (layouts & PB_I8 ? 1 : 0) + (layouts & PB_I16 ? 2 : 0);
  return 16 + roundUp(N, 16) * 8 + copies * roundUp(N, 16) * roundUp(K, 4);
}

/** qgemm_i8_scratch_bytes(M, K). */
export function qgemmScratchBytes(M: number, K: number): number {
  return roundUp(M, 4) * roundUp(K, 4) * 2 + roundUp(M, 4) * 8;
}

/** An epilogue descriptor that stores the exact i32 accumulator (MatMulInteger, ConvInteger). */
export function storeI32Epilogue(ctx: OpCtx): Addr {
  return ctx.params(new Int32Array(11));
}

/** An 8-bit operand: checks the type, returns whether it is signed. */
export function q8Operand(ctx: OpCtx, i: number): boolean {
  return requireType(ctx, i, Q8) === 'int8';
}

/** Input `zp` (when present) must have the type of input `of` (ONNX: same type parameter). */
export function zeroPointType(ctx: OpCtx, zp: number, zpName: string, of: number, ofName: string): void {
  if (!ctx.has(zp) || ctx.dtype(zp) === ctx.dtype(of)) return;
  ctx.fail('LOWBIT_TYPE_MISMATCH', `${zpName} has type ${ctx.dtype(zp)}, but ${ofName} is ${ctx.dtype(of)}; they must match`);
}

/** The common type of the scale inputs (float32 or float16; mixed types are not supported). */
export function scaleType(ctx: OpCtx, scales: [number, string][]): DType {
  const t = ctx.dtype(scales[0][0]);
  for (const [i, name] of scales) {
    const dt = requireType(ctx, i, SCALE_TYPES);
    if (dt !== t) ctx.fail('LOWBIT_UNSUPPORTED', `${name} is ${dt} while ${scales[0][1]} is ${t}: mixed scale types are not supported`);
  }
  return t;
}

/** A per-tensor parameter: any shape holding one value. */
export function perTensor(ctx: OpCtx, i: number, name: string): void {
  if (ctx.has(i) && numel(ctx.dims(i)) !== 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `${name} ${fmtDims(ctx.dims(i))} must hold a single value (per tensor)`);
}

/**
 * How a scale / zero point applies to one matrix operand: `count` values (1: per tensor, else one
 * per row of A or column of B), shared by every batch item or, when `perBatch`, one set per item
 * of the operand's batch dims.
 */
export interface QParamLayout {
  count: number;
  perBatch: boolean;
}

/**
 * Classifies quantisation parameter input i of a matrix operand with batch dims `batch` and
 * `len` rows (role 'row': shapes [len], [..., len, 1]) or columns ('col': [len], [..., 1, len]).
 */
export function matrixParam(ctx: OpCtx, i: number, name: string, role: 'row' | 'col', len: number, batch: readonly number[]): QParamLayout {
  const d = ctx.dims(i);
  if (numel(d) === 1) return { count: 1, perBatch: false };
  const tail = role === 'row' ? [len, 1] : [1, len];
  if (d.length === 1 && d[0] === len) return { count: len, perBatch: false };
  if (d.length >= 2 && d[d.length - 2] === tail[0] && d[d.length - 1] === tail[1]) {
    const lead = d.slice(0, -2);
    if (numel(lead) === 1) return { count: len, perBatch: false };
    if (lead.length === batch.length && lead.every((x, k) => x === batch[k])) return { count: len, perBatch: true };
  }
  const want = role === 'row' ? `[${len}] or [..., ${len}, 1]` : `[${len}] or [..., 1, ${len}]`;
  return ctx.fail('LOWBIT_SHAPE_MISMATCH', `${name} ${fmtDims(d)} must be one value or one per ${role === 'row' ? 'row' : 'column'}: ${want}`);
}

/** Scale and zero point of one operand must have the same shape (one value each counts as equal). */
export function sameParamShape(ctx: OpCtx, scale: number, scaleName: string, zp: number, zpName: string): void {
  if (!ctx.has(zp)) return;
  const s = ctx.dims(scale);
  const z = ctx.dims(zp);
  const same = (numel(s) === 1 && numel(z) === 1) || (s.length === z.length && s.every((x, k) => x === z[k]));
  if (!same) ctx.fail('LOWBIT_SHAPE_MISMATCH', `${scaleName} ${fmtDims(s)} and ${zpName} ${fmtDims(z)} must have the same shape`);
}

/** Constant bytes as hex, for the cache key of something derived from them. */
export function bytesKey(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A cache key for constant zero-point bytes (part of a packed weight's identity). */
function zpKey(ctx: OpCtx, zp: number): string {
  return ctx.has(zp) ? bytesKey(ctx.value(zp)!.bytes) : 'none';
}

/**
 * Weights as packed B operands: `pack(src, zp, dst)` emits the pack_b_i8 steps. Once per session
 * when the weights (input w) and their zero point (input zp) are constants, per call otherwise.
 */
export function packedWeights(ctx: OpCtx, w: number, zp: number, bytes: number, key: string, pack: (src: Addr, zp: Addr | 0, dst: Addr) => void): Addr {
  if (ctx.value(w) && (!ctx.has(zp) || ctx.value(zp))) {
    return ctx.derived(w, `${key}_zp${zpKey(ctx, zp)}`, bytes, (src, dst) => {
      pack(src, ctx.has(zp) ? ctx.params(ctx.value(zp)!.bytes) : 0, dst);
    });
  }
  const dst = ctx.scratch(bytes);
  pack(ctx.in(w), ctx.has(zp) ? ctx.in(zp) : 0, dst);
  return dst;
}

export interface ScaleRef {
  addr: Addr;
  count: number;
}

/**
 * Emits the step that forms the requantisation descriptor (assembly/qlinear_params.ts) from the
 * scales a (count 1 or one per row), b (1 or one per column) and y, and the output zero point.
 */
export function emitRequantDesc(ctx: OpCtx, sdt: DType, a: ScaleRef, b: ScaleRef, y: Addr, yZp: Addr, ySigned: boolean): Addr {
  const dst = ctx.scratch(48 + a.count * b.count * 4);
  ctx.step('qlinear_requant_desc', a.addr, a.count, b.addr, b.count, y, dtypeCode(sdt), yZp, ySigned ? 1 : 0, dst);
  return dst;
}

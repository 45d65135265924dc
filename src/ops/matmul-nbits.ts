// com.microsoft MatMulNBits: Y = A·Wᵀ (+ bias) with W[n,k] = (q[n,k] − zp[n,b])·scale[n,b],
// b = ⌊k/block_size⌋, q packed `bits` wide LSB-first in B [N][k_blocks][block_size·bits/8]
// (FORMATS.md). B, scales and zero points must be constants: they are packed once per session
// into the qw layout. accuracy_level 4 runs the int8-activation kernel (activations quantized
// per row, as onnxruntime does); every other level runs the exact f32 kernel. The plan shows
// which: the node's steps are quantize_rows_i8 + qwgemm_i8, or qwgemm_f32. Float zero points
// that are not whole numbers add a qw_zp_fraction step (assembly/qw_zp_fraction.ts).

import { numel } from '../ir/tensor.js';
import { attrInt, intsOf, type OpCtx, type OpDef } from './context.js';
import { emitQwGemm, packQw, QW_MAX_BLOCK, QW_SRC, QW_ZP } from './qweights.js';
import { fmtDims } from './shape-util.js';

/** Accuracy level at which onnxruntime may quantize A to int8. */
const ACCURACY_INT8 = 4;

interface NBits {
  K: number;
  N: number;
  bits: number;
  bs: number;
  kb: number;
  int8: boolean;
}

function required(ctx: OpCtx, name: string): number {
  const v = attrInt(ctx, name);
  if (v === undefined) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' is required`);
  return v;
}

function nbitsAttrs(ctx: OpCtx): NBits {
  const K = required(ctx, 'K');
  const N = required(ctx, 'N');
  if (K < 1 || N < 1) ctx.fail('LOWBIT_BAD_MODEL', `K=${K} and N=${N} must be ≥ 1`);
  const bits = attrInt(ctx, 'bits', 4);
  if (bits !== 2 && bits !== 4 && bits !== 8) ctx.fail('LOWBIT_UNSUPPORTED', `bits=${bits} is not supported (2, 4 or 8)`);
  const bs = required(ctx, 'block_size');
  if (bs < 16 || (bs & (bs - 1)) !== 0) ctx.fail('LOWBIT_BAD_MODEL', `block_size=${bs} must be a power of two ≥ 16`);
  if (bs > QW_MAX_BLOCK) ctx.fail('LOWBIT_LIMIT', `block_size=${bs} is larger than ${QW_MAX_BLOCK}`);
  const level = attrInt(ctx, 'accuracy_level', 0);
  if (level < 0 || level > 4) ctx.fail('LOWBIT_BAD_MODEL', `accuracy_level=${level} must be in 0…4`);
  return { K, N, bits, bs, kb: Math.ceil(K / bs), int8: level === ACCURACY_INT8 };
}

function constantInput(ctx: OpCtx, i: number, what: string, dtype: string, elements: number, shapes: number[][]): void {
  if (ctx.dtype(i) !== dtype) ctx.fail('LOWBIT_TYPE_MISMATCH', `${what} must be ${dtype}, got ${ctx.dtype(i)}`);
  const d = ctx.dims(i);
  if (numel(d) !== elements || !shapes.some((s) => s.length === d.length && s.every((x, k) => x === d[k]))) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `${what} has shape ${fmtDims(d)}; expected ${shapes.map(fmtDims).join(' or ')}`);
  }
  if (!ctx.value(i)) ctx.fail('LOWBIT_UNSUPPORTED', `${what} must be a constant initializer (weights are packed once per session)`);
}

interface ZeroPoints {
  layout: number;
  bytes: Uint8Array;
  /** zf·scale [N][kb] (rounded once to f32) when some float zero point is not a whole number. */
  fraction?: Float32Array;
}

/**
 * Zero points as qw_pack reads them: packed uint8 rows as they are; float ones split into an
 * integer part zi = round(zp) clamped to [0, 2^bits − 1] (one byte each, packed with the weights)
 * and the rest zf = zp − zi, applied by qw_zp_fraction (assembly/qw_zp_fraction.ts).
 */
function zeroPoints(ctx: OpCtx, p: NBits, scale?: Float32Array): ZeroPoints | undefined {
  if (!ctx.has(3)) return undefined;
  const { N, kb, bits } = p;
  if (ctx.dtype(3) === 'uint8') {
    const row = Math.ceil((kb * bits) / 8);
    constantInput(ctx, 3, 'zero_points (packed uint8)', 'uint8', N * row, [[N, row], [N * row]]);
    return { layout: QW_ZP.NBITS, bytes: ctx.value(3)!.bytes };
  }
  constantInput(ctx, 3, 'zero_points (float)', 'float32', N * kb, [[N, kb], [N * kb]]);
  const v = new Float32Array(ctx.value(3)!.bytes.slice().buffer);
  const bytes = new Uint8Array(v.length);
  const fraction = new Float32Array(v.length);
  let fractional = false;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) ctx.fail('LOWBIT_BAD_MODEL', `float zero point ${v[i]} (index ${i}) is not finite`);
    const zi = Math.min((1 << bits) - 1, Math.max(0, Math.round(v[i])));
    bytes[i] = zi;
    if (v[i] !== zi) {
      fractional = true;
      if (scale) fraction[i] = (v[i] - zi) * scale[i];
    }
  }
  return { layout: QW_ZP.BYTES, bytes, fraction: fractional ? fraction : undefined };
}

function checkGIdx(ctx: OpCtx, p: NBits): void {
  if (!ctx.has(4)) return;
  if (ctx.dtype(4) !== 'int32' || numel(ctx.dims(4)) !== p.K || !ctx.value(4)) {
    ctx.fail('LOWBIT_UNSUPPORTED', `g_idx must be a constant int32 [${p.K}]`);
  }
  const g = intsOf(ctx, 4, 'g_idx');
  const k = g.findIndex((b, i) => b !== Math.floor(i / p.bs));
  if (k >= 0) ctx.fail('LOWBIT_UNSUPPORTED', `g_idx reorders K (g_idx[${k}] = ${g[k]}, not ${Math.floor(k / p.bs)}): act-order weights are not supported`);
}

function checkInputs(ctx: OpCtx, p: NBits): void {
  const { K, N, bits, bs, kb } = p;
  if (ctx.dtype(0) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `A has type ${ctx.dtype(0)}; only float32 is supported`);
  const ad = ctx.dims(0);
  if (ad.length === 0 || ad[ad.length - 1] !== K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} must end in K=${K}`);
  const blob = (bs * bits) / 8;
  constantInput(ctx, 1, 'B', 'uint8', N * kb * blob, [[N, kb, blob]]);
  constantInput(ctx, 2, 'scales', 'float32', N * kb, [[N, kb], [N * kb]]);
  zeroPoints(ctx, p);
  checkGIdx(ctx, p);
  if (ctx.has(5)) {
    if (ctx.dtype(5) !== 'float32') ctx.fail('LOWBIT_TYPE_MISMATCH', `bias must be float32, got ${ctx.dtype(5)}`);
    if (numel(ctx.dims(5)) !== N || ctx.dims(5).length !== 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias has shape ${fmtDims(ctx.dims(5))}; expected [${N}]`);
  }
}

const matmulNBits: OpDef = {
  infer(ctx) {
    const p = nbitsAttrs(ctx);
    checkInputs(ctx, p);
    ctx.setOutput(0, 'float32', [...ctx.dims(0).slice(0, -1), p.N]);
  },
  lower(ctx) {
    const p = nbitsAttrs(ctx);
    const { K, N, bits, bs } = p;
    const [, scales, zps] = ctx.node.inputs;
    const scale = new Float32Array(ctx.value(2)!.bytes.slice().buffer);
    const zp = zeroPoints(ctx, p, scale);
    const qw = packQw(ctx, {
      input: 1, key: `qw_nbits_${bits}_${bs}_${N}x${K}_${scales}_${ctx.has(3) ? zps : ''}`,
      layout: QW_SRC.NBITS, signed: false, N, K, bits, bs, scale, zp,
    });
    const M = numel(ctx.dims(0)) / K;
    emitQwGemm(ctx, {
      a: ctx.in(0), qw, out: ctx.out(0), bias: ctx.has(5) ? ctx.in(5) : undefined, M, N, K, bits, bs, int8: p.int8,
      zpFraction: zp?.fraction ? ctx.params(zp.fraction) : undefined,
    });
  },
};

export const microsoftOps: Record<string, OpDef> = {
  MatMulNBits: matmulNBits,
};

// ai.lowbit ops on packed sign bits between binary layers (src/passes/binary-chain.ts,
// src/passes/sign-motion.ts), in the uint8 bit-row layouts of src/ops/binary.ts:
//
//   PackSigns(X) {nhwc, nan_negative, channels?}  the bipolar sign of f32 X as bits, by the packers'
//     rule (src/ops/binary.ts: x < 0 → −1, or with nan_negative = 1 ¬(x ≥ 0) → −1); `channels`,
//     when given, is checked against the packed axis (the pass sized what reads the bits by it):
//       nhwc = 1: X [B, C, spatial…] → bit NHWC [B, spatial…, bitRowBytes(C)]
//       nhwc = 0: X [rows…, K]       → bit rows [rows…, bitRowBytes(K)]
//   BitMaxPool(X, or_mask?) {MaxPool attrs, ceil_mode honoured}  X bit NHWC [B, spatial…, bytes] → bit NHWC of the
//     pooled positions: per channel the AND of the window's bits (max over ±1), or the OR (min)
//     where or_mask (uint8 [bytes], a bit row) has the channel's bit set (assembly/bitmove.ts);
//     no or_mask: the AND in every channel.
//   BitReshape(X, shape?) {channels, nhwc, length, axis | allowzero}  a Reshape (shape given) or a
//     Flatten (axis) of the logical ±1 tensor, producing bit rows of `length` (the reader's K):
//       nhwc = 1: X is bit NHWC of logical [B, channels, spatial…]
//       nhwc = 0: X is bit rows of logical [rows…, channels]
//     The output is uint8 [target[:-1]…, bitRowBytes(length)]; same bytes (an alias) when the
//     bit rows do not change, else flatten_b1_nhwc gathers the bits in flat NCHW order.

import { numel } from '../ir/tensor.js';
import { bitRowBytes } from './binary.js';
import { nanNegative } from './binary.js';
import { attrInt, intsOf, type OpCtx, type OpDef } from './context.js';
import { poolGeometry } from './pool.js';
import { flattenDims, reshapeDims } from './shape.js';
import { fmtDims } from './shape-util.js';

function requireBits(ctx: OpCtx): readonly number[] {
  const xd = ctx.dims(0);
  if (ctx.dtype(0) !== 'uint8' || xd.length < 2 || xd[xd.length - 1] % 16 !== 0) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `X ${ctx.dtype(0)} ${fmtDims(xd)} is not a packed bit tensor (uint8, rows of 16-byte blocks)`);
  }
  return xd;
}

/** X's NCHW dims with a placeholder channel (pooling reads only batch and spatial dims). */
const pooledDims = (xd: readonly number[]): number[] => [xd[0], 1, ...xd.slice(1, -1)];

function packedDims(ctx: OpCtx): { rows: number; L: number; P: number; out: number[] } {
  if (ctx.dtype(0) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `X has type ${ctx.dtype(0)}; only float32 is supported`);
  const xd = ctx.dims(0);
  const nhwc = attrInt(ctx, 'nhwc', 0) === 1;
  if (xd.length < (nhwc ? 3 : 1)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X ${fmtDims(xd)} has too few dimensions for ${nhwc ? 'NCHW' : 'rows'}`);
  const L = nhwc ? xd[1] : xd[xd.length - 1];
  const want = attrInt(ctx, 'channels', 0);
  if (want !== 0 && want !== L) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X ${fmtDims(xd)} has ${L} channels where ${want} were expected`);
  if (nhwc) return { rows: xd[0], L, P: numel(xd.slice(2)), out: [xd[0], ...xd.slice(2), bitRowBytes(L)] };
  return { rows: numel(xd.slice(0, -1)), L, P: 0, out: [...xd.slice(0, -1), bitRowBytes(L)] };
}

const packSigns: OpDef = {
  infer(ctx) {
    nanNegative(ctx);
    ctx.setOutput(0, 'uint8', packedDims(ctx).out);
  },
  lower(ctx) {
    const d = packedDims(ctx);
    if (numel(d.out) === 0) return;
    if (attrInt(ctx, 'nhwc', 0) === 1) ctx.step('pack_signs_nchw_f32', ctx.in(0), d.rows, d.L, d.P, ctx.out(0), nanNegative(ctx));
    else ctx.step('pack_signs_f32', ctx.in(0), d.rows, d.L, d.L, 1, ctx.out(0), nanNegative(ctx));
  },
};

const bitMaxPool: OpDef = {
  infer(ctx) {
    const xd = requireBits(ctx);
    const rb = xd[xd.length - 1];
    if (ctx.has(1) && (ctx.dtype(1) !== 'uint8' || numel(ctx.dims(1)) !== rb || !ctx.value(1))) {
      ctx.fail('LOWBIT_BAD_MODEL', `or_mask must be a constant uint8 bit row of ${rb} bytes`);
    }
    const g = poolGeometry(ctx, true, pooledDims(xd));
    ctx.setOutput(0, 'uint8', [xd[0], ...g.outDims.slice(2), rb]);
  },
  lower(ctx) {
    const xd = ctx.dims(0);
    const g = poolGeometry(ctx, true, pooledDims(xd));
    if (numel(ctx.outDims(0)) === 0) return;
    const mask = ctx.has(1) ? ctx.in(1) : ctx.params(new Uint8Array(xd[xd.length - 1]));
    ctx.step('maxpool_b1', ctx.in(0), ctx.out(0), xd[0], xd[xd.length - 1], mask, ctx.params(g.desc));
  },
};

interface Reshaped {
  /** Logical input as [B, C, P] in flat order (bit rows: P = 1). */
  B: number;
  C: number;
  P: number;
  length: number;
  out: number[];
}

function reshaped(ctx: OpCtx): Reshaped {
  const xd = requireBits(ctx);
  const C = attrInt(ctx, 'channels', 0);
  const length = attrInt(ctx, 'length', 0);
  const nhwc = attrInt(ctx, 'nhwc', 0) === 1;
  if (!(C >= 1) || !(length >= 1) || xd[xd.length - 1] !== bitRowBytes(C)) {
    ctx.fail('LOWBIT_BAD_MODEL', `channels ${C} / length ${length} do not fit packed X ${fmtDims(xd)}`);
  }
  const rows = xd.slice(0, -1);
  const logical = nhwc ? [xd[0], C, ...xd.slice(1, -1)] : [...rows, C];
  const target = ctx.has(1)
    ? reshapeDims(ctx, logical, intsOf(ctx, 1, 'the target shape'), attrInt(ctx, 'allowzero', 0))
    : flattenDims(ctx, logical);
  if (numel(target) !== numel(logical)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `cannot reshape ${fmtDims(logical)} to ${fmtDims(target)}`);
  if (target.length === 0 || target[target.length - 1] !== length) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `reshape of ${fmtDims(logical)} to ${fmtDims(target)} must end in ${length}, the length its reader takes`);
  }
  const B = nhwc ? xd[0] : numel(rows);
  return { B, C, P: nhwc ? numel(xd.slice(1, -1)) : 1, length, out: [...target.slice(0, -1), bitRowBytes(length)] };
}

const bitReshape: OpDef = {
  infer(ctx) {
    ctx.setOutput(0, 'uint8', reshaped(ctx).out);
  },
  lower(ctx) {
    const r = reshaped(ctx);
    if (r.P === 1 && r.length === r.C) return ctx.alias(0, 0);
    if (numel(r.out) === 0) return;
    ctx.step('flatten_b1_nhwc', ctx.in(0), r.B, r.C, r.P, r.length, ctx.out(0));
  },
};

export const binaryBitsOps: Record<string, OpDef> = {
  PackSigns: packSigns,
  BitMaxPool: bitMaxPool,
  BitReshape: bitReshape,
};

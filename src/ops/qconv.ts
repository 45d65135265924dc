// QLinearConv, ConvInteger and ai.lowbit QConvToFloat on assembly/conv_i8.ts (an implicit GEMM over a zero-padded i16
// copy of the input, output positions against output channels), or assembly/conv_dw_i8.ts
// (direct) for depthwise-style convs. Geometry as the f32 Conv (conv-geom.ts). x's scale and
// zero point and y's are per tensor; w's are per tensor or per output channel ([M]);
// QLinearConv's bias is int32 [M]. Weights are packed per group (W_g [M/group, C/group, kernel],
// zero point subtracted: assembly/conv_i8_pack.ts) once per session when they and their zero
// point are constants, per call otherwise.
//
// QConvToFloat(x, x_zero_point, w, w_zero_point, scale, bias?) — what src/passes/qonnx-quant.ts
// makes of a QONNX-quantised conv — is ConvInteger with the f32 epilogue of
// assembly/gemm_i8_epilogue.ts: y = f32(acc)·scale[m] + bias[m], one f32 rounding each, scale
// float32 one value or [M], bias float32 [M].

import { numel } from '../ir/tensor.js';
import type { Addr, OpCtx, OpDef } from './context.js';
import { convGeom, geomDescriptor, type ConvGeom } from './conv-geom.js';
import { requireType } from './elementwise.js';
import {
  emitRequantDesc, packedWeights, perTensor, q8Operand, sameParamShape, scaleType,
  storeI32Epilogue, zeroPointType,
} from './qparams.js';

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** conv_w_i8_bytes(M, C, T): one group's packed weights (T taps). */
export function convWeightBytes(M: number, C: number, T: number): number {
  return roundUp(M, 8) * T * roundUp(C, 2) * 2;
}

/** Input channels per group up to which the Winograd kernel is exact (assembly/conv_i8_wino.ts). */
export const WINO_MAX_C = 917;

/**
 * Whether conv_wino_i8 (Winograd F(2×2, 3×3)) computes this conv, and faster than conv_i8: a 2-D
 * 3×3 kernel, stride 1, dilation 1, at most WINO_MAX_C input channels per group (exactness);
 * and enough of both for the transforms to pay (measured on Zen 4: 1.3–1.6× from 32 channels
 * and 12 output columns, no gain at 16 channels or 7 columns).
 */
export function useWinograd(g: ConvGeom): boolean {
  const is2d = g.kernel.length === 2;
  const fits = is2d && g.kernel.every((k) => k === 3) && g.strides.every((v) => v === 1) && g.dilations.every((v) => v === 1) && g.C <= WINO_MAX_C;
  return fits && g.C >= 32 && g.outSpatial[1] >= 12;
}

/** conv_w_wino_i8_bytes(M, C): one group's Winograd-transformed 3×3 weights. */
export function winoWeightBytes(M: number, C: number): number {
  return 16 * roundUp(M, 4) * Math.ceil(C / 2) * 4;
}

/** conv_wino_i8_scratch_bytes: the padded volume in even/odd column phases, then V of one block of 8 tiles. */
export function winoScratchBytes(g: ConvGeom): number {
  const [OH, OW] = g.outSpatial;
  const TH = Math.ceil(OH / 2), TW8 = roundUp(Math.ceil(OW / 2), 8);
  const CP = Math.ceil(g.C / 2);
  return (2 * TH + 2) * CP * (TW8 + 1) * 8 + 16 * CP * 32;
}

/** conv_i8_scratch_bytes: one group's padded i16 input volume and the tap table (assembly/conv_i8_pack.ts). */
export function convI8ScratchBytes(g: ConvGeom): number {
  const lift = (v: number[]) => [...new Array<number>(3 - v.length).fill(1), ...v];
  const [O, S, K, D] = [lift(g.outSpatial), lift(g.strides), lift(g.kernel), lift(g.dilations)];
  const extent = (i: number) => (O[i] - 1) * S[i] + (K[i] - 1) * D[i] + 1;
  const slots = roundUp(O[2], 4) + Math.floor(((K[2] - 1) * D[2]) / S[2]);
  return extent(0) * extent(1) * Math.ceil(g.C / 2) * S[2] * slots * 4 + numel(g.kernel) * 4;
}

import { fmtDims } from './shape-util.js';

interface Slots {
  w: number;
  xZp: number;
  wZp: number;
  q?: { xScale: number; wScale: number; yScale: number; yZp: number; bias: number };
  /** QConvToFloat's f32 epilogue inputs. */
  f?: { scale: number; bias: number };
  names: Record<number, string>;
}

const QLINEAR: Slots = {
  w: 3, xZp: 2, wZp: 5, q: { xScale: 1, wScale: 4, yScale: 6, yZp: 7, bias: 8 },
  names: { 0: 'x', 1: 'x_scale', 2: 'x_zero_point', 3: 'w', 4: 'w_scale', 5: 'w_zero_point', 6: 'y_scale', 7: 'y_zero_point', 8: 'B' },
};
const INTEGER: Slots = { w: 1, xZp: 2, wZp: 3, names: { 0: 'x', 1: 'w', 2: 'x_zero_point', 3: 'w_zero_point' } };
const TO_FLOAT: Slots = {
  w: 2, xZp: 1, wZp: 3, f: { scale: 4, bias: 5 },
  names: { 0: 'x', 1: 'x_zero_point', 2: 'w', 3: 'w_zero_point', 4: 'scale', 5: 'bias' },
};

const F32 = new Set(['float32'] as const);
const EPI_F32 = 3;
const EPI_DESC_HEADER = 48;

/** A w parameter: one value or one per output channel. */
function perChannel(ctx: OpCtx, i: number, name: string, channels: number): boolean {
  if (!ctx.has(i)) return false;
  const d = ctx.dims(i);
  if (numel(d) === 1) return false;
  if (d.length === 1 && d[0] === channels) return true;
  return ctx.fail('LOWBIT_SHAPE_MISMATCH', `${name} ${fmtDims(d)} must be one value or one per output channel ([${channels}])`);
}

function analyse(ctx: OpCtx, s: Slots) {
  const name = (i: number) => s.names[i];
  const xSigned = q8Operand(ctx, 0);
  const wSigned = q8Operand(ctx, s.w);
  const g = convGeom(ctx, 0, s.w);
  const channels = g.M * g.group;
  zeroPointType(ctx, s.xZp, name(s.xZp), 0, name(0));
  zeroPointType(ctx, s.wZp, name(s.wZp), s.w, name(s.w));
  perTensor(ctx, s.xZp, name(s.xZp));
  let wPerChannel = perChannel(ctx, s.wZp, name(s.wZp), channels);
  if (s.q) {
    const q = s.q;
    for (const i of [s.xZp, s.wZp, q.yZp]) {
      if (!ctx.has(i)) ctx.fail('LOWBIT_BAD_MODEL', `${name(i)} is required`);
    }
    scaleType(ctx, [[q.xScale, name(q.xScale)], [q.wScale, name(q.wScale)], [q.yScale, name(q.yScale)]]);
    q8Operand(ctx, q.yZp);
    for (const i of [q.xScale, q.yScale, q.yZp]) perTensor(ctx, i, name(i));
    sameParamShape(ctx, q.wScale, name(q.wScale), s.wZp, name(s.wZp));
    wPerChannel = perChannel(ctx, q.wScale, name(q.wScale), channels);
    if (ctx.has(q.bias)) {
      requireType(ctx, q.bias, new Set(['int32'] as const));
      const bd = ctx.dims(q.bias);
      if (bd.length !== 1 || bd[0] !== channels) ctx.fail('LOWBIT_SHAPE_MISMATCH', `B ${fmtDims(bd)} must be [${channels}] (one per output channel)`);
    }
  }
  if (s.f) {
    requireType(ctx, s.f.scale, F32);
    perChannel(ctx, s.f.scale, 'scale', channels);
    if (ctx.has(s.f.bias)) {
      requireType(ctx, s.f.bias, F32);
      if (numel(ctx.dims(s.f.bias)) !== channels) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias ${fmtDims(ctx.dims(s.f.bias))} must have ${channels} elements (one per output channel)`);
    }
  }
  return { g, xSigned, wSigned, wPerChannel };
}

/** The f32 epilogue descriptor of QConvToFloat, with copies of its scales and biases inside. */
function floatEpilogue(ctx: OpCtx, f: NonNullable<Slots['f']>, channels: number): ReturnType<OpCtx['in']> {
  const sCount = perChannel(ctx, f.scale, 'scale', channels) ? channels : 1;
  const bCount = ctx.has(f.bias) ? channels : 0;
  const epi = ctx.scratch(EPI_DESC_HEADER + 4 * (sCount + bCount));
  ctx.step('gemm_i8_epilogue_desc', epi, EPI_F32, ctx.in(f.scale), sCount, 0, bCount ? ctx.in(f.bias) : 0, bCount, 0, 0, 0);
  return epi;
}

function infer(s: Slots) {
  return (ctx: OpCtx) => {
    const { g } = analyse(ctx, s);
    ctx.setOutput(0, s.q ? ctx.dtype(s.q.yZp) : s.f ? 'float32' : 'int32', [ctx.dims(0)[0], g.M * g.group, ...g.outSpatial]);
  };
}

/** conv_w_dw_i8_bytes(channels, rows, KW). */
export function dwWeightBytes(channels: number, rows: number, KW: number): number {
  return channels * rows * roundUp(KW, 2) * 2;
}

/** conv_dw_i8_scratch_bytes: one input channel's padded volume (3-D geometry from geomDescriptor). */
export function dwScratchBytes(g: ConvGeom): number {
  const lift = (v: number[]) => [...new Array<number>(3 - v.length).fill(1), ...v];
  const [O, S, K, D] = [lift(g.outSpatial), lift(g.strides), lift(g.kernel), lift(g.dilations)];
  const extent = (i: number) => (O[i] - 1) * S[i] + (K[i] - 1) * D[i] + 1;
  const pitch = roundUp(roundUp(O[2], 8) * S[2] + roundUp(K[2], 2) * D[2] + 32, 16);
  return extent(0) * extent(1) * pitch;
}

function lower(s: Slots) {
  return (ctx: OpCtx) => {
    if (numel(ctx.outDims(0)) === 0) return;
    const { g, xSigned, wSigned, wPerChannel } = analyse(ctx, s);
    let epi = s.f ? floatEpilogue(ctx, s.f, g.M * g.group) : storeI32Epilogue(ctx);
    let bias: ReturnType<OpCtx['in']> | 0 = 0;
    if (s.q) {
      const q = s.q;
      epi = emitRequantDesc(ctx, ctx.dtype(q.xScale), { addr: ctx.in(q.xScale), count: 1 },
        { addr: ctx.in(q.wScale), count: wPerChannel ? g.M * g.group : 1 }, ctx.in(q.yScale), ctx.in(q.yZp), ctx.dtype(q.yZp) === 'int8');
      if (ctx.has(q.bias)) bias = ctx.in(q.bias);
    }
    emitConvI8(ctx, g, { x: ctx.in(0), xSigned, xZp: ctx.has(s.xZp) ? ctx.in(s.xZp) : 0, w: s.w, wSigned, wZp: s.wZp, wPerChannel, bias, epi });
  };
}

/** emitConvI8's operands: x is input 0; w and wZp are input indices (wZp −1: no zero point, as TernaryConv's codes). */
export interface ConvI8Operands {
  x: Addr;
  xSigned: boolean;
  xZp: Addr | 0;
  w: number;
  wSigned: boolean;
  wZp: number;
  wPerChannel: boolean;
  bias: Addr | 0;
  epi: Addr;
}

/** Emits the integer conv kernel for g: conv_dw_i8, conv_wino_i8 or conv_i8, weights packed once per session. */
export function emitConvI8(ctx: OpCtx, g: ConvGeom, o: ConvI8Operands): void {
  const KW = g.kernel[g.kernel.length - 1];
  const rows = numel(g.kernel) / KW;
  const channels = g.M * g.group;
  const geom = ctx.params(geomDescriptor(ctx.dims(0)[0], g, 0));
  const [ws, pc] = [o.wSigned ? 1 : 0, o.wPerChannel ? 1 : 0];
  // One input channel per group and few outputs per group: too little work per output for the
  // GEMM's 4-channel tiles, so the direct kernel.
  if (g.C === 1 && g.M < 4) {
    const wp = packedWeights(ctx, o.w, o.wZp, dwWeightBytes(channels, rows, KW), `qconv_dw${ws}`, (src, zp, dst) => {
      ctx.step('pack_w_dw_i8', src, ws, zp, pc, channels, rows, KW, dst);
    });
    ctx.step('conv_dw_i8', geom, o.x, o.xSigned ? 1 : 0, o.xZp, wp, o.bias, o.epi, ctx.out(0), ctx.scratch(dwScratchBytes(g)));
    return;
  }
  const wino = useWinograd(g);
  const T = numel(g.kernel);
  const groupBytes = wino ? winoWeightBytes(g.M, g.C) : convWeightBytes(g.M, g.C, T);
  const wp = packedWeights(ctx, o.w, o.wZp, g.group * groupBytes, `qconv_${wino ? 'wino' : 'w'}${ws}_g${g.group}`, (src, zp, dst) => {
    for (let j = 0; j < g.group; j++) {
      const zpj = zp && o.wPerChannel ? ctx.offset(zp, j * g.M) : zp;
      const at = [ctx.offset(src, j * g.M * g.C * T), ws, zpj, pc, g.M, g.C];
      if (wino) ctx.step('pack_w_wino_i8', ...at, ctx.offset(dst, j * groupBytes));
      else ctx.step('pack_w_conv_i8', ...at, T, ctx.offset(dst, j * groupBytes));
    }
  });
  ctx.step(wino ? 'conv_wino_i8' : 'conv_i8', geom, o.x, o.xSigned ? 1 : 0, o.xZp, wp, o.bias, o.epi, ctx.out(0),
    ctx.scratch(wino ? winoScratchBytes(g) : convI8ScratchBytes(g)));
}

export const qconvOps: Record<string, OpDef> = {
  QLinearConv: { infer: infer(QLINEAR), lower: lower(QLINEAR) },
  ConvInteger: { infer: infer(INTEGER), lower: lower(INTEGER) },
};

export const qconvFloatOps: Record<string, OpDef> = {
  QConvToFloat: { infer: infer(TO_FLOAT), lower: lower(TO_FLOAT) },
};

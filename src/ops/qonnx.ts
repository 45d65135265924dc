// QONNX / FINN fake-quant operators run literally (float in, float out) on assembly/fakequant.ts:
// Quant (alias IntQuant), BipolarQuant, Trunc (v1) and MultiThreshold. Semantics follow
// FORMATS.md § QONNX as qonnx's numpy executor implements it; the kernel header states the f32
// operation order that makes the results bit-identical to it.

import { numel, toNumbers } from '../ir/tensor.js';
import { attrFloat, attrInt, attrString, type OpCtx, type OpDef } from './context.js';
import { broadcastOrFail, broadcastStrides, collapse, descriptor } from './shape-util.js';

// Kernel codes (assembly/fakequant.ts).
const KIND = { QUANT: 0, QUANT_BIPOLAR: 1, BIPOLAR: 2, TRUNC: 3 } as const;
const ROUNDING: Record<string, number> = { ROUND: 0, HALF_EVEN: 0, CEIL: 1, FLOOR: 2, UP: 3, DOWN: 4, HALF_UP: 5, HALF_DOWN: 6 };

/** Bit widths the clamp bounds stay exact for in f32 arithmetic (and that exporters use). */
const MAX_BITWIDTH = 32;

function requireF32(ctx: OpCtx, i: number, name: string): void {
  if (ctx.dtype(i) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `${name} of type ${ctx.dtype(i)} is not supported (float32)`);
}

/** The rounding_mode attribute (case-insensitive) as a kernel code. */
function roundingMode(ctx: OpCtx, def: string): number {
  const mode = attrString(ctx, 'rounding_mode', def);
  const code = ROUNDING[mode.toUpperCase()];
  if (code === undefined) ctx.fail('LOWBIT_UNSUPPORTED', `rounding_mode '${mode}' is not one of ${Object.keys(ROUNDING).join(', ')}`);
  return code;
}

/** A bit width input: a constant integer scalar. */
function bitwidth(ctx: OpCtx, i: number, name: string): number {
  const t = ctx.value(i);
  if (!t) ctx.fail('LOWBIT_UNSUPPORTED', `${name} (input ${i}) must be a constant`);
  if (t.dims.length !== 0) ctx.fail('LOWBIT_BAD_MODEL', `${name} must be a scalar, got shape [${t.dims.join(',')}]`);
  const b = toNumbers(t)[0];
  if (!Number.isInteger(b) || b < 1 || b > MAX_BITWIDTH) ctx.fail('LOWBIT_UNSUPPORTED', `${name} ${b} is not an integer in 1…${MAX_BITWIDTH}`);
  return b;
}

function boolAttr(ctx: OpCtx, name: string, def: number): boolean {
  const v = attrInt(ctx, name, def);
  if (v !== 0 && v !== 1) ctx.fail('LOWBIT_BAD_MODEL', `${name} must be 0 or 1, got ${v}`);
  return v === 1;
}

/** Integer clamp range of Quant (qonnx min_int / max_int), as the f32 values numpy compares with. */
function intRange(signed: boolean, narrow: boolean, b: number): [number, number] {
  const lo = signed ? -(2 ** (b - 1)) + (narrow ? 1 : 0) : 0;
  const hi = signed ? 2 ** (b - 1) - 1 : 2 ** b - (narrow ? 2 : 1);
  return [Math.fround(lo), Math.fround(hi)];
}

/** Emits the fake-quant kernel over x, scale and zero point broadcast to the output. */
function emitFakeQuant(ctx: OpCtx, kind: number, mode: number, zp: ReturnType<OpCtx['in']>, zpDims: readonly number[], lo: number, hi: number, div: number): void {
  const od = ctx.outDims(0);
  const { dims, strides } = collapse(od, [ctx.dims(0), ctx.dims(1), zpDims].map((d) => broadcastStrides(d, od)));
  ctx.step('fake_quant_f32', kind, mode, ctx.in(0), ctx.in(1), zp, ctx.out(0), ctx.params(descriptor(dims, strides)), lo, hi, div);
}

/** Quant / IntQuant: inputs X, scale, zeropt, bitwidth. */
const quant: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    requireF32(ctx, 1, 'scale');
    requireF32(ctx, 2, 'zeropt');
    if (!ctx.has(3)) ctx.fail('LOWBIT_BAD_MODEL', 'needs 4 inputs (X, scale, zeropt, bitwidth)');
    bitwidth(ctx, 3, 'bitwidth');
    roundingMode(ctx, 'ROUND');
    ctx.setOutput(0, 'float32', broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1), ctx.dims(2)]));
  },
  lower(ctx) {
    const b = bitwidth(ctx, 3, 'bitwidth');
    const signed = boolAttr(ctx, 'signed', 1);
    const narrow = boolAttr(ctx, 'narrow', 0);
    const mode = roundingMode(ctx, 'ROUND');
    // qonnx maps a 1-bit signed Quant to bipolar ±1 (before any clamp or rounding).
    const kind = b === 1 && signed ? KIND.QUANT_BIPOLAR : KIND.QUANT;
    const [lo, hi] = intRange(signed, narrow, b);
    emitFakeQuant(ctx, kind, mode, ctx.in(2), ctx.dims(2), lo, hi, 1);
  },
};

/** BipolarQuant: inputs X, scale. */
const bipolarQuant: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    requireF32(ctx, 1, 'scale');
    ctx.setOutput(0, 'float32', broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1)]));
  },
  lower(ctx) {
    emitFakeQuant(ctx, KIND.BIPOLAR, 0, ctx.params(new Float32Array(1)), [], 0, 0, 1);
  },
};

/** Trunc v1: inputs X, scale, zeropt, in_bitwidth, out_bitwidth; rounding_mode default FLOOR. */
const trunc: OpDef = {
  infer(ctx) {
    if (ctx.opset !== 1 || ctx.numInputs > 5) ctx.fail('LOWBIT_UNSUPPORTED', `only Trunc v1 (5 inputs) is supported, got opset ${ctx.opset} with ${ctx.numInputs} inputs`);
    requireF32(ctx, 0, 'X');
    requireF32(ctx, 1, 'scale');
    requireF32(ctx, 2, 'zeropt');
    if (!ctx.has(4)) ctx.fail('LOWBIT_BAD_MODEL', 'needs 5 inputs (X, scale, zeropt, in_bitwidth, out_bitwidth)');
    bitwidth(ctx, 3, 'in_bitwidth');
    bitwidth(ctx, 4, 'out_bitwidth');
    roundingMode(ctx, 'FLOOR');
    ctx.setOutput(0, 'float32', broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1), ctx.dims(2)]));
  },
  lower(ctx) {
    const shift = bitwidth(ctx, 3, 'in_bitwidth') - bitwidth(ctx, 4, 'out_bitwidth');
    emitFakeQuant(ctx, KIND.TRUNC, roundingMode(ctx, 'FLOOR'), ctx.in(2), ctx.dims(2), 0, 0, 2 ** shift);
  },
};

/**
 * The channel axis qonnx's MultiThreshold uses: the index of "C" in data_layout, 1 when the
 * layout has no C; without data_layout, guessed from the rank (2 NC, 3 NWC, 4 NCHW, else 1).
 */
function channelAxis(ctx: OpCtx, rank: number): number {
  const layout = attrString(ctx, 'data_layout', '') || (rank < 5 ? ['', '', 'NC', 'NWC', 'NCHW'][rank] : '');
  const axis = layout.includes('C') ? layout.indexOf('C') : 1;
  if (axis >= rank) ctx.fail('LOWBIT_BAD_MODEL', `channel axis ${axis} (data_layout '${layout}') is out of range for rank ${rank}`);
  return axis;
}

/** FINN MultiThreshold: inputs v, thresholds (C, T) or (1, T). */
const multiThreshold: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'input');
    requireF32(ctx, 1, 'thresholds');
    const dims = ctx.dims(0);
    const axis = channelAxis(ctx, dims.length);
    const td = ctx.dims(1);
    if (td.length !== 2 || (td[0] !== 1 && td[0] !== dims[axis])) {
      ctx.fail('LOWBIT_SHAPE_MISMATCH', `thresholds shape [${td.join(',')}] must be (${dims[axis]}, T) or (1, T) for input shape [${dims.join(',')}] (channel axis ${axis})`);
    }
    ctx.setOutput(0, 'float32', dims);
  },
  lower(ctx) {
    const dims = ctx.dims(0);
    const axis = channelAxis(ctx, dims.length);
    const [tc, T] = ctx.dims(1);
    const C = dims[axis];
    ctx.step('multithreshold_f32', ctx.in(0), ctx.in(1), ctx.out(0), numel(dims.slice(0, axis)), C, numel(dims.slice(axis + 1)), T,
      tc === 1 ? 0 : T, attrFloat(ctx, 'out_scale', 1), attrFloat(ctx, 'out_bias', 0));
  },
};

/** The op table of qonnx.custom_op.general (also served as onnx.brevitas and finn.custom_op.general). */
export const qonnxOps: Record<string, OpDef> = {
  Quant: quant,
  IntQuant: quant,
  BipolarQuant: bipolarQuant,
  Trunc: trunc,
  MultiThreshold: multiThreshold,
};

export { QONNX_DOMAINS } from '../ir/domains.js';

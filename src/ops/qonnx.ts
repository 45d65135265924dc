// QONNX / FINN fake-quant operators run literally (float in, float out) on assembly/fakequant.ts:
// Quant (alias IntQuant), BipolarQuant, Trunc (v1) and MultiThreshold. Semantics follow
// FORMATS.md § QONNX as qonnx's numpy executor implements it; the kernel header states the f32
// operation order that makes the results bit-identical to it.

import { numel, toNumbers } from '../ir/tensor.js';
import { intRange, MAX_BITWIDTH, QKIND as KIND, ROUNDING, roundingCode } from '../ir/qonnx.js';
import { attrFloat, attrInt, attrString, type OpCtx, type OpDef } from './context.js';
import { broadcastOrFail, broadcastStrides, collapse, descriptor } from './shape-util.js';

function requireF32(ctx: OpCtx, i: number, name: string): void {
  if (ctx.dtype(i) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `${name} of type ${ctx.dtype(i)} is not supported (float32)`);
}

/** The rounding_mode attribute (case-insensitive) as a kernel code. */
function roundingMode(ctx: OpCtx, def: string): number {
  const mode = attrString(ctx, 'rounding_mode', def);
  const code = roundingCode(mode);
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

// ---- the integer side, for the layers src/passes/qonnx-quant.ts forms -----------------------

/** A per-tensor f32 constant (one value), as the integer quantizers take scale and zero point. */
function scalarConstant(ctx: OpCtx, i: number, name: string): number {
  requireF32(ctx, i, name);
  const t = ctx.value(i);
  if (!t || numel(t.dims) !== 1) ctx.fail('LOWBIT_UNSUPPORTED', `${name} must be a constant holding one value`);
  return toNumbers(t)[0];
}

/**
 * ai.lowbit QonnxQuantInt(X, scale, zeropt, bitwidth), attributes as Quant: the integer t that
 * Quant computes before (t − zeropt)·scale, as int8 (signed) or uint8 (bitwidth ≤ 8, so every t
 * fits); scale and zeropt one value each. A NaN in X (whose Quant output is NaN) fails the run.
 */
const quantInt: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    scalarConstant(ctx, 1, 'scale');
    scalarConstant(ctx, 2, 'zeropt');
    if (!ctx.has(3)) ctx.fail('LOWBIT_BAD_MODEL', 'needs 4 inputs (X, scale, zeropt, bitwidth)');
    const b = bitwidth(ctx, 3, 'bitwidth');
    if (b > 8) ctx.fail('LOWBIT_UNSUPPORTED', `bitwidth ${b} does not fit an 8-bit integer`);
    roundingMode(ctx, 'ROUND');
    ctx.setOutput(0, boolAttr(ctx, 'signed', 1) ? 'int8' : 'uint8', ctx.dims(0));
  },
  lower(ctx) {
    const b = bitwidth(ctx, 3, 'bitwidth');
    const signed = boolAttr(ctx, 'signed', 1);
    const [lo, hi] = intRange(signed, boolAttr(ctx, 'narrow', 0), b);
    const kind = b === 1 && signed ? KIND.QUANT_BIPOLAR : KIND.QUANT;
    ctx.step('fake_quant_q8', kind, roundingMode(ctx, 'ROUND'), ctx.in(0), numel(ctx.dims(0)), scalarConstant(ctx, 1, 'scale'),
      scalarConstant(ctx, 2, 'zeropt'), lo, hi, signed ? 1 : 0, ctx.out(0));
  },
};

/** ai.lowbit QonnxBipolarInt(X): BipolarQuant's sign t = X ≥ 0 ? +1 : −1 as int8 (NaN → −1, as BipolarQuant). */
const bipolarInt: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    ctx.setOutput(0, 'int8', ctx.dims(0));
  },
  lower(ctx) {
    ctx.step('fake_quant_q8', KIND.BIPOLAR, 0, ctx.in(0), numel(ctx.dims(0)), 1, 0, -1, 1, 1, ctx.out(0));
  },
};

export const qonnxIntOps: Record<string, OpDef> = {
  QonnxQuantInt: quantInt,
  QonnxBipolarInt: bipolarInt,
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

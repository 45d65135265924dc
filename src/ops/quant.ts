// QuantizeLinear, DequantizeLinear (opsets 10–25) and DynamicQuantizeLinear on the kernels of
// assembly/quant.ts. Element semantics and float operation order: assembly/quant_elem.ts.

import { dtypeCode, dtypeFromCode, type DType } from '../ir/dtype.js';
import { numel, type TensorData } from '../ir/tensor.js';
import { attrInt, normAxis, type OpCtx, type OpDef } from './context.js';

const SCALE_TYPES = new Set<DType>(['float32', 'float16', 'bfloat16']);
const QUANT_INTS = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4', 'int2', 'uint2']);
const QUANT_FLOATS = new Set<DType>(['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'float4e2m1']);

/**
 * The kernels' granularity descriptor [outer, D, inner, B, so, sd, si] (assembly/quant.ts):
 * element (o, j, i) of x viewed as [outer, D, inner] uses scale o·so + ⌊j/B⌋·sd + i·si.
 */
export function quantDescriptor(xDims: readonly number[], kind: 'tensor' | 'axis' | 'block', axis: number, block: number): Int32Array {
  const n = numel(xDims);
  if (kind === 'tensor') return Int32Array.of(1, n, 1, Math.max(n, 1), 0, 0, 0);
  const outer = numel(xDims.slice(0, axis));
  const D = xDims[axis];
  const inner = numel(xDims.slice(axis + 1));
  if (kind === 'axis') return inner === 1 ? Int32Array.of(outer, 1, D, 1, 0, 0, 1) : Int32Array.of(outer, D, inner, 1, 0, 1, 0);
  const blocks = Math.ceil(D / block);
  return inner === 1 ? Int32Array.of(outer, D, 1, block, blocks, 1, 0) : Int32Array.of(outer, D, inner, block, blocks * inner, inner, 1);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks the scale (and zero point) shapes against axis / block_size and returns the descriptor. */
function granularity(ctx: OpCtx, scaleName: string): Int32Array {
  const xDims = ctx.dims(0);
  const sDims = ctx.dims(1);
  if (ctx.has(2) && !sameDims(ctx.dims(2), sDims) && !(numel(ctx.dims(2)) === 1 && numel(sDims) === 1)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `zero point shape [${ctx.dims(2).join(',')}] differs from ${scaleName} shape [${sDims.join(',')}]`);
  }
  const block = attrInt(ctx, 'block_size', 0);
  if (block < 0) ctx.fail('LOWBIT_BAD_MODEL', `block_size must be positive, got ${block}`);
  const shapeText = `${scaleName} shape [${sDims.join(',')}] for input shape [${xDims.join(',')}]`;
  if (numel(sDims) === 1 && sDims.length <= Math.max(1, xDims.length)) return quantDescriptor(xDims, 'tensor', 0, 0);
  const rawAxis = attrInt(ctx, 'axis', 1);
  if (xDims.length === 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `${shapeText}: a scalar input needs a single scale`);
  const axis = normAxis(ctx, rawAxis, xDims.length);
  if (block === 0) {
    if (sDims.length !== 1 || sDims[0] !== xDims[axis]) {
      ctx.fail('LOWBIT_SHAPE_MISMATCH', `${shapeText}: per-axis quantization along axis ${rawAxis} needs a 1-D ${scaleName} of length ${xDims[axis]}`);
    }
    return quantDescriptor(xDims, 'axis', axis, 0);
  }
  const want = xDims.map((d, i) => (i === axis ? Math.ceil(d / block) : d));
  if (!sameDims(sDims, want)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `${shapeText}: block_size ${block} along axis ${rawAxis} needs ${scaleName} shape [${want.join(',')}]`);
  }
  return quantDescriptor(xDims, 'block', axis, block);
}

function dtypeAttr(ctx: OpCtx, name: string): DType | undefined {
  const code = attrInt(ctx, name, 0);
  if (code === 0) return undefined;
  const dt = dtypeFromCode(code);
  if (!dt) ctx.fail('LOWBIT_BAD_MODEL', `${name} = ${code} is not a known data type`);
  return dt;
}

function isZeroFloat(dt: DType, bytes: Uint8Array, n: number): boolean {
  // ±0 in every float8 / float4 encoding (the sign bit alone is NaN in the fnuz types).
  const bits = dt === 'float4e2m1' ? 4 : 8;
  const signOnly = dt.endsWith('fnuz') ? -1 : 1 << (bits - 1);
  for (let i = 0; i < n; i++) {
    const v = bits === 8 ? bytes[i] : (bytes[i >> 1] >> ((i & 1) * 4)) & 15;
    if (v !== 0 && v !== signOnly) return false;
  }
  return true;
}

/**
 * Float8 zero points (and float4 ones when dequantizing) must be zero: the ONNX reference ignores
 * or rejects others. A constant is checked here, a computed one by the kernel (error 2).
 */
function checkFloatZeroPoint(ctx: OpCtx, dt: DType, quantizing: boolean): void {
  if (!ctx.has(2) || !QUANT_FLOATS.has(dt) || (quantizing && dt === 'float4e2m1')) return;
  const zp: TensorData | undefined = ctx.value(2);
  if (zp && !isZeroFloat(dt, zp.bytes, numel(zp.dims))) ctx.fail('LOWBIT_BAD_MODEL', `a ${dt} zero point must be zero`);
}

function scaleType(ctx: OpCtx, name: string): DType {
  const dt = ctx.dtype(1);
  if (!SCALE_TYPES.has(dt)) ctx.fail('LOWBIT_UNSUPPORTED', `${name} of type ${dt} is not supported (float32, float16, bfloat16)`);
  return dt;
}

function quantizeOutputType(ctx: OpCtx): DType {
  const attr = dtypeAttr(ctx, 'output_dtype');
  const zp = ctx.has(2) ? ctx.dtype(2) : undefined;
  if (attr && zp && attr !== zp) ctx.fail('LOWBIT_TYPE_MISMATCH', `output_dtype ${attr} differs from the zero point type ${zp}`);
  const dt = zp ?? attr ?? 'uint8';
  if (!QUANT_INTS.has(dt) && !QUANT_FLOATS.has(dt)) ctx.fail('LOWBIT_UNSUPPORTED', `quantizing to ${dt} is not supported`);
  return dt;
}

const quantizeLinear: OpDef = {
  infer(ctx) {
    const xdt = ctx.dtype(0);
    if (!SCALE_TYPES.has(xdt) && xdt !== 'int32') ctx.fail('LOWBIT_UNSUPPORTED', `input x of type ${xdt} is not supported`);
    scaleType(ctx, 'y_scale');
    const ydt = quantizeOutputType(ctx);
    granularity(ctx, 'y_scale');
    ctx.setOutput(0, ydt, ctx.dims(0));
  },
  lower(ctx) {
    const ydt = ctx.outDtype(0);
    checkFloatZeroPoint(ctx, ydt, true);
    const sdt = ctx.dtype(1);
    const prec = dtypeAttr(ctx, 'precision') ?? sdt;
    if (!SCALE_TYPES.has(prec)) ctx.fail('LOWBIT_UNSUPPORTED', `precision ${prec} is not supported (float32, float16, bfloat16)`);
    const saturate = attrInt(ctx, 'saturate', 1);
    if (saturate !== 0 && saturate !== 1) ctx.fail('LOWBIT_BAD_MODEL', `saturate must be 0 or 1, got ${saturate}`);
    const d = ctx.params(granularity(ctx, 'y_scale'));
    ctx.step('quantize_linear', dtypeCode(ctx.dtype(0)), dtypeCode(sdt), dtypeCode(ydt), dtypeCode(prec),
      ctx.in(0), ctx.in(1), ctx.has(2) ? ctx.in(2) : 0, ctx.out(0), d, saturate);
  },
};

const dequantizeLinear: OpDef = {
  infer(ctx) {
    const xdt = ctx.dtype(0);
    if (!QUANT_INTS.has(xdt) && !QUANT_FLOATS.has(xdt) && xdt !== 'int32') ctx.fail('LOWBIT_UNSUPPORTED', `input x of type ${xdt} is not supported`);
    if (ctx.has(2) && ctx.dtype(2) !== xdt) ctx.fail('LOWBIT_TYPE_MISMATCH', `zero point type ${ctx.dtype(2)} differs from the input type ${xdt}`);
    const ydt = dtypeAttr(ctx, 'output_dtype') ?? scaleType(ctx, 'x_scale');
    scaleType(ctx, 'x_scale');
    if (!SCALE_TYPES.has(ydt)) ctx.fail('LOWBIT_UNSUPPORTED', `output_dtype ${ydt} is not supported (float32, float16, bfloat16)`);
    granularity(ctx, 'x_scale');
    ctx.setOutput(0, ydt, ctx.dims(0));
  },
  lower(ctx) {
    const xdt = ctx.dtype(0);
    checkFloatZeroPoint(ctx, xdt, false);
    const zp = ctx.has(2) ? ctx.in(2) : 0;
    const d = ctx.params(granularity(ctx, 'x_scale'));
    ctx.step('dequantize_linear', dtypeCode(xdt), dtypeCode(ctx.dtype(1)), dtypeCode(ctx.outDtype(0)),
      ctx.in(0), ctx.in(1), zp, ctx.out(0), d);
  },
};

const dynamicQuantizeLinear: OpDef = {
  infer(ctx) {
    if (ctx.dtype(0) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `input x of type ${ctx.dtype(0)} is not supported (float32)`);
    ctx.setOutput(0, 'uint8', ctx.dims(0));
    ctx.setOutput(1, 'float32', []);
    ctx.setOutput(2, 'uint8', []);
  },
  lower(ctx) {
    ctx.step('dynamic_quantize_linear_f32', ctx.in(0), numel(ctx.dims(0)), ctx.out(0), ctx.out(1), ctx.out(2));
  },
};

export const quantOps: Record<string, OpDef> = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
};

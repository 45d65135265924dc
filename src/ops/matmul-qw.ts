// ai.lowbit MatMulQW(A, W, scale, zero_point?, bias?): Y = A·dequant(W) (+ bias), what the
// dq-matmul pass makes of DequantizeLinear(constant low-bit W) → MatMul/Gemm. W stays `bits`
// wide: it is packed once per session into the qw layout and runs on the exact f32 kernel.
//
// Attributes (set by the pass, checked against the inputs here):
//   bits, signed   W's element type (int2/uint2/int4/uint4/int8/uint8);
//   trans_b        0: W is [K, N] (MatMul B); 1: W is [N, K] (Gemm B with transB = 1);
//   block_size     > 0: blocks of block_size along K, scale = W's shape with K → ⌈K/block_size⌉;
//                  0: one scale per output channel (scale [N]) or one for the tensor (scale [1]).
// A is [..., K] (leading dims are more rows), Y is [..., N]; zero_point has the scale's shape and
// W's type; bias is float32 [N].
//
// ai.lowbit MatMulQWQ8(A, a_scale, a_zero_point, W, scale, zero_point?, bias?), what the
// qonnx-quant pass makes of a QONNX-quantised activation × low-bit weight layer: A is int8 /
// uint8, already quantised by the model (a_scale float32 and a_zero_point of A's type, one value
// each), W as above; Y = a_scale·((A − a_zp)·dequant(W)) (+ bias) on the int8 kernel qwgemm_i8:
// exact block dots d_b = Σ_{k∈b} (A − a_zp)(q − zp), then acc = Σ_b f32(d_b)·scale[n,b] in block
// order and y = acc·a_scale (+ bias), each f32 operation rounded once — with one block per channel,
// y = f32(f32(f32(d)·scale[n])·a_scale). A − a_zp must fit int8: the run fails otherwise.

import { dtypeBits, dtypeKind } from '../ir/dtype.js';
import { numel, toNumbers } from '../ir/tensor.js';
import { attrInt, type Addr, type OpCtx, type OpDef } from './context.js';
import { emitQwGemm, packQw, QW_MAX_BLOCK, QW_SRC, QW_ZP } from './qweights.js';
import { fmtDims } from './shape-util.js';

const WEIGHT_TYPES = new Set(['int2', 'uint2', 'int4', 'uint4', 'int8', 'uint8']);

interface QwShape {
  K: number;
  N: number;
  bits: number;
  signed: boolean;
  transB: boolean;
  /** Block size the kernel uses: block_size, or K rounded up to 16 for one scale per channel. */
  bs: number;
  /** Scale is a single value, broadcast to every channel. */
  perTensor: boolean;
}

/** Input slots of W, its scale, zero point and the bias. */
interface Slots {
  w: number;
  scale: number;
  zp: number;
  bias: number;
}

const F32_A: Slots = { w: 1, scale: 2, zp: 3, bias: 4 };
const Q8_A: Slots = { w: 3, scale: 4, zp: 5, bias: 6 };

function qwShape(ctx: OpCtx, sl: Slots): QwShape {
  const wt = ctx.dtype(sl.w);
  if (!WEIGHT_TYPES.has(wt)) ctx.fail('LOWBIT_UNSUPPORTED', `weights of type ${wt} are not supported`);
  const bits = attrInt(ctx, 'bits', dtypeBits(wt));
  const signed = attrInt(ctx, 'signed', dtypeKind(wt) === 'int' ? 1 : 0) === 1;
  if (bits !== dtypeBits(wt) || signed !== (dtypeKind(wt) === 'int')) ctx.fail('LOWBIT_BAD_MODEL', `bits=${bits}, signed=${signed} do not describe weights of type ${wt}`);
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const wd = ctx.dims(sl.w);
  if (wd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W must be 2-D, got ${fmtDims(wd)}`);
  const [K, N] = transB ? [wd[1], wd[0]] : wd;
  const block = attrInt(ctx, 'block_size', 0);
  const kb = block > 0 ? Math.ceil(K / block) : 1;
  const sd = ctx.dims(sl.scale);
  const blockedShape = transB ? [N, kb] : [kb, N];
  const perTensor = block === 0 && numel(sd) === 1;
  const shapeOk = block > 0 ? sd.length === 2 && sd[0] === blockedShape[0] && sd[1] === blockedShape[1] : perTensor || (sd.length === 1 && sd[0] === N);
  if (!shapeOk) ctx.fail('LOWBIT_SHAPE_MISMATCH', `scale ${fmtDims(sd)} does not fit W ${fmtDims(wd)} with block_size ${block}`);
  const bs = block > 0 ? block : Math.ceil(K / 16) * 16;
  if (bs < 16 || bs % 16 !== 0 || bs > QW_MAX_BLOCK) ctx.fail('LOWBIT_UNSUPPORTED', `block size ${bs} is not a multiple of 16 in [16, ${QW_MAX_BLOCK}]`);
  return { K, N, bits, signed, transB, bs, perTensor };
}

function checkInputs(ctx: OpCtx, s: QwShape, sl: Slots, aTypes: readonly string[]): void {
  if (!aTypes.includes(ctx.dtype(0))) ctx.fail('LOWBIT_UNSUPPORTED', `A has type ${ctx.dtype(0)}; only ${aTypes.join(' or ')} is supported`);
  const ad = ctx.dims(0);
  if (ad.length === 0 || ad[ad.length - 1] !== s.K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} must end in K=${s.K}`);
  if (ctx.dtype(sl.scale) !== 'float32') ctx.fail('LOWBIT_TYPE_MISMATCH', `scale must be float32, got ${ctx.dtype(sl.scale)}`);
  for (const i of [sl.w, sl.scale, sl.zp]) if (ctx.has(i) && !ctx.value(i)) ctx.fail('LOWBIT_UNSUPPORTED', `input ${i} must be a constant`);
  if (ctx.has(sl.zp)) {
    if (ctx.dtype(sl.zp) !== ctx.dtype(sl.w)) ctx.fail('LOWBIT_TYPE_MISMATCH', `zero point type ${ctx.dtype(sl.zp)} differs from W's ${ctx.dtype(sl.w)}`);
    if (fmtDims(ctx.dims(sl.zp)) !== fmtDims(ctx.dims(sl.scale))) ctx.fail('LOWBIT_SHAPE_MISMATCH', `zero point ${fmtDims(ctx.dims(sl.zp))} and scale ${fmtDims(ctx.dims(sl.scale))} differ`);
  }
  if (ctx.has(sl.bias) && (ctx.dtype(sl.bias) !== 'float32' || numel(ctx.dims(sl.bias)) !== s.N)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias must be float32 with ${s.N} elements, got ${ctx.dtype(sl.bias)} ${fmtDims(ctx.dims(sl.bias))}`);
  }
}

/** Scales and zero points in the layout qw_pack reads; a single scale is broadcast to [N]. */
function scalesAndZeroPoints(ctx: OpCtx, s: QwShape, sl: Slots): { scale: Float32Array; zp?: { layout: number; bytes: Uint8Array } } {
  const given = new Float32Array(ctx.value(sl.scale)!.bytes.slice().buffer);
  const scale = s.perTensor ? new Float32Array(s.N).fill(given[0]) : given;
  const zb = ctx.has(sl.zp) ? ctx.value(sl.zp)!.bytes : undefined;
  // ONNX's absent zero point is 0; qw_pack's (QW_ZP_NONE, 2^(bits−1) unsigned) is that only for signed W.
  if (!zb) return { scale, zp: s.signed ? undefined : { layout: QW_ZP.BYTES, bytes: new Uint8Array(scale.length) } };
  // A single zero point: its `bits` low bits, one byte per channel.
  if (s.perTensor) return { scale, zp: { layout: QW_ZP.BYTES, bytes: new Uint8Array(s.N).fill(zb[0]) } };
  return { scale, zp: { layout: s.bits === 8 ? QW_ZP.BYTES : QW_ZP.PACKED, bytes: zb } };
}

/** W packed once per session into the qw layout. */
function packedWeights(ctx: OpCtx, s: QwShape, sl: Slots): Addr {
  const { K, N, bits, bs } = s;
  const scale = ctx.node.inputs[sl.scale];
  const zp = ctx.has(sl.zp) ? ctx.node.inputs[sl.zp] : '';
  return packQw(ctx, {
    input: sl.w, key: `qw_${s.transB ? 'nk' : 'kn'}_${bs}_${scale}_${zp}`,
    layout: s.transB ? QW_SRC.NK : QW_SRC.KN, signed: s.signed, N, K, bits, bs,
    ...scalesAndZeroPoints(ctx, s, sl),
  });
}

const matmulQW: OpDef = {
  infer(ctx) {
    const s = qwShape(ctx, F32_A);
    checkInputs(ctx, s, F32_A, ['float32']);
    ctx.setOutput(0, 'float32', [...ctx.dims(0).slice(0, -1), s.N]);
  },
  lower(ctx) {
    const s = qwShape(ctx, F32_A);
    const qw = packedWeights(ctx, s, F32_A);
    const M = numel(ctx.dims(0)) / s.K;
    emitQwGemm(ctx, { a: ctx.in(0), qw, out: ctx.out(0), bias: ctx.has(4) ? ctx.in(4) : undefined, M, N: s.N, K: s.K, bits: s.bits, bs: s.bs, int8: false });
  },
};

/** a_scale and a_zero_point of MatMulQWQ8: one value each, constants. */
function activationParams(ctx: OpCtx): { scale: number; zp: number } {
  if (ctx.dtype(1) !== 'float32') ctx.fail('LOWBIT_TYPE_MISMATCH', `a_scale must be float32, got ${ctx.dtype(1)}`);
  if (ctx.dtype(2) !== ctx.dtype(0)) ctx.fail('LOWBIT_TYPE_MISMATCH', `a_zero_point type ${ctx.dtype(2)} differs from A's ${ctx.dtype(0)}`);
  const [s, z] = [1, 2].map((i) => ctx.value(i));
  if (!s || !z || numel(s.dims) !== 1 || numel(z.dims) !== 1) ctx.fail('LOWBIT_UNSUPPORTED', 'a_scale and a_zero_point must be constants holding one value each');
  return { scale: toNumbers(s)[0], zp: toNumbers(z)[0] };
}

const matmulQWQ8: OpDef = {
  infer(ctx) {
    const s = qwShape(ctx, Q8_A);
    checkInputs(ctx, s, Q8_A, ['int8', 'uint8']);
    activationParams(ctx);
    ctx.setOutput(0, 'float32', [...ctx.dims(0).slice(0, -1), s.N]);
  },
  lower(ctx) {
    const s = qwShape(ctx, Q8_A);
    const { K, N, bits, bs } = s;
    const M = numel(ctx.dims(0)) / K;
    if (M === 0) return;
    const a = activationParams(ctx);
    const qw = packedWeights(ctx, s, Q8_A);
    const kb = Math.ceil(K / bs);
    const aq = ctx.scratch(M * kb * bs);
    const asum = ctx.scratch(M * kb * 4);
    ctx.step('pack_rows_i8', ctx.in(0), ctx.dtype(0) === 'int8' ? 1 : 0, a.zp, M, K, bs, aq, asum);
    const ascale = ctx.params(new Float32Array(M).fill(a.scale));
    ctx.step('qwgemm_i8', aq, ascale, asum, qw, ctx.out(0), N, M, N, K, bits, bs, ctx.has(Q8_A.bias) ? ctx.in(Q8_A.bias) : 0);
  },
};

export const lowbitOps: Record<string, OpDef> = {
  MatMulQW: matmulQW,
  MatMulQWQ8: matmulQWQ8,
};

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

import { dtypeBits, dtypeKind } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrInt, type OpCtx, type OpDef } from './context.js';
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

function qwShape(ctx: OpCtx): QwShape {
  const wt = ctx.dtype(1);
  if (!WEIGHT_TYPES.has(wt)) ctx.fail('LOWBIT_UNSUPPORTED', `weights of type ${wt} are not supported`);
  const bits = attrInt(ctx, 'bits', dtypeBits(wt));
  const signed = attrInt(ctx, 'signed', dtypeKind(wt) === 'int' ? 1 : 0) === 1;
  if (bits !== dtypeBits(wt) || signed !== (dtypeKind(wt) === 'int')) ctx.fail('LOWBIT_BAD_MODEL', `bits=${bits}, signed=${signed} do not describe weights of type ${wt}`);
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const wd = ctx.dims(1);
  if (wd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W must be 2-D, got ${fmtDims(wd)}`);
  const [K, N] = transB ? [wd[1], wd[0]] : wd;
  const block = attrInt(ctx, 'block_size', 0);
  const kb = block > 0 ? Math.ceil(K / block) : 1;
  const sd = ctx.dims(2);
  const blockedShape = transB ? [N, kb] : [kb, N];
  const perTensor = block === 0 && numel(sd) === 1;
  const shapeOk = block > 0 ? sd.length === 2 && sd[0] === blockedShape[0] && sd[1] === blockedShape[1] : perTensor || (sd.length === 1 && sd[0] === N);
  if (!shapeOk) ctx.fail('LOWBIT_SHAPE_MISMATCH', `scale ${fmtDims(sd)} does not fit W ${fmtDims(wd)} with block_size ${block}`);
  const bs = block > 0 ? block : Math.ceil(K / 16) * 16;
  if (bs < 16 || bs % 16 !== 0 || bs > QW_MAX_BLOCK) ctx.fail('LOWBIT_UNSUPPORTED', `block size ${bs} is not a multiple of 16 in [16, ${QW_MAX_BLOCK}]`);
  return { K, N, bits, signed, transB, bs, perTensor };
}

function checkInputs(ctx: OpCtx, s: QwShape): void {
  if (ctx.dtype(0) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `A has type ${ctx.dtype(0)}; only float32 is supported`);
  const ad = ctx.dims(0);
  if (ad.length === 0 || ad[ad.length - 1] !== s.K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `A ${fmtDims(ad)} must end in K=${s.K}`);
  if (ctx.dtype(2) !== 'float32') ctx.fail('LOWBIT_TYPE_MISMATCH', `scale must be float32, got ${ctx.dtype(2)}`);
  for (const i of [1, 2, 3]) if (ctx.has(i) && !ctx.value(i)) ctx.fail('LOWBIT_UNSUPPORTED', `input ${i} must be a constant`);
  if (ctx.has(3)) {
    if (ctx.dtype(3) !== ctx.dtype(1)) ctx.fail('LOWBIT_TYPE_MISMATCH', `zero point type ${ctx.dtype(3)} differs from W's ${ctx.dtype(1)}`);
    if (fmtDims(ctx.dims(3)) !== fmtDims(ctx.dims(2))) ctx.fail('LOWBIT_SHAPE_MISMATCH', `zero point ${fmtDims(ctx.dims(3))} and scale ${fmtDims(ctx.dims(2))} differ`);
  }
  if (ctx.has(4) && (ctx.dtype(4) !== 'float32' || numel(ctx.dims(4)) !== s.N)) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias must be float32 with ${s.N} elements, got ${ctx.dtype(4)} ${fmtDims(ctx.dims(4))}`);
  }
}

/** Scales and zero points in the layout qw_pack reads; a single scale is broadcast to [N]. */
function scalesAndZeroPoints(ctx: OpCtx, s: QwShape): { scale: Float32Array; zp?: { layout: number; bytes: Uint8Array } } {
  const given = new Float32Array(ctx.value(2)!.bytes.slice().buffer);
  const scale = s.perTensor ? new Float32Array(s.N).fill(given[0]) : given;
  const zb = ctx.has(3) ? ctx.value(3)!.bytes : undefined;
  // ONNX's absent zero point is 0; qw_pack's (QW_ZP_NONE, 2^(bits−1) unsigned) is that only for signed W.
  if (!zb) return { scale, zp: s.signed ? undefined : { layout: QW_ZP.BYTES, bytes: new Uint8Array(scale.length) } };
  // A single zero point: its `bits` low bits, one byte per channel.
  if (s.perTensor) return { scale, zp: { layout: QW_ZP.BYTES, bytes: new Uint8Array(s.N).fill(zb[0]) } };
  return { scale, zp: { layout: s.bits === 8 ? QW_ZP.BYTES : QW_ZP.PACKED, bytes: zb } };
}

const matmulQW: OpDef = {
  infer(ctx) {
    const s = qwShape(ctx);
    checkInputs(ctx, s);
    ctx.setOutput(0, 'float32', [...ctx.dims(0).slice(0, -1), s.N]);
  },
  lower(ctx) {
    const s = qwShape(ctx);
    const { K, N, bits, bs } = s;
    const [, , scale, zp] = ctx.node.inputs;
    const qw = packQw(ctx, {
      input: 1, key: `qw_${s.transB ? 'nk' : 'kn'}_${bs}_${scale}_${ctx.has(3) ? zp : ''}`,
      layout: s.transB ? QW_SRC.NK : QW_SRC.KN, signed: s.signed, N, K, bits, bs,
      ...scalesAndZeroPoints(ctx, s),
    });
    const M = numel(ctx.dims(0)) / K;
    emitQwGemm(ctx, { a: ctx.in(0), qw, out: ctx.out(0), bias: ctx.has(4) ? ctx.in(4) : undefined, M, N, K, bits, bs, int8: false });
  },
};

export const lowbitOps: Record<string, OpDef> = {
  MatMulQW: matmulQW,
};

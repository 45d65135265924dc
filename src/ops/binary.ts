// ai.lowbit binary layers, what the binary pass (src/passes/binary.ts) makes of MatMul/Gemm/Conv
// whose constant weights are ±s_n per output channel n:
//
//   BinaryMatMul(X, W, scale, bias?)  Y = (bipolar(X) · sign(W)) · scale + bias
//   BinaryConv(X, W, scale, bias?)    Y = Conv(bipolar(X), sign(W)) · scale + bias   (Conv attrs)
//
// bipolar(x) = x < 0 ? −1 : +1 (the packers' rule, assembly/bitpack.ts); W is the original f32
// initializer ([K, N], or [N, K] with trans_b = 1; Conv [M, C/group, kernel…]), of which only the
// signs are kept: packed once per session into bit rows (N·⌈K/128⌉·16 bytes). scale and bias are
// float32 [N]; the activation attributes of src/passes/fuse-activation.ts apply a Relu/Clip last.
// Binary×binary dots are exact integers (|dot| ≤ K < 2^24 is exact in f32), then
// the epilogue rounds dot·scale and then + bias to f32 (assembly/bgemm_epilogue.ts).

import { numel } from '../ir/tensor.js';
import { attrInt, fusedActivation, type Addr, type OpCtx, type OpDef } from './context.js';
import { convGeom, geomDescriptor } from './conv-geom.js';
import { fmtDims } from './shape-util.js';

/** Bytes of one bit row of L elements (bit_row_bytes in assembly/bitpack.ts). */
export const bitRowBytes = (L: number): number => Math.ceil(L / 128) * 16;

/** binary_epilogue_desc's header plus its copies of N scales and N biases. */
const epiBytes = (N: number): number => 32 + 8 * N;

/** bconv_b1b1 im2cols this many bytes of tap rows at a time, so the GEMM reads them from L1d. */
const BCONV_CHUNK_BYTES = 16 * 1024;

function requireF32(ctx: OpCtx, i: number, what: string): void {
  if (ctx.dtype(i) !== 'float32') ctx.fail('LOWBIT_UNSUPPORTED', `${what} has type ${ctx.dtype(i)}; only float32 is supported`);
}

/** Checks W (constant), scale [N] (constant) and bias [N]. */
function checkChannels(ctx: OpCtx, N: number): void {
  requireF32(ctx, 1, 'W');
  requireF32(ctx, 2, 'scale');
  if (!ctx.value(1) || !ctx.value(2)) ctx.fail('LOWBIT_UNSUPPORTED', 'W and scale must be constants');
  if (numel(ctx.dims(2)) !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `scale ${fmtDims(ctx.dims(2))} must have ${N} elements (one per output channel)`);
  if (ctx.has(3)) {
    requireF32(ctx, 3, 'bias');
    if (numel(ctx.dims(3)) !== N) ctx.fail('LOWBIT_SHAPE_MISMATCH', `bias ${fmtDims(ctx.dims(3))} must have ${N} elements`);
  }
}

/** The f32 epilogue: · scale, + bias, then the Relu/Clip fuse-activation attached (if any). */
function epilogue(ctx: OpCtx, N: number): Addr {
  const epi = ctx.scratch(epiBytes(N));
  const { act, lo, hi } = fusedActivation(ctx);
  ctx.step('binary_epilogue_desc', epi, ctx.in(2), ctx.has(3) ? ctx.in(3) : 0, N, act, lo, hi);
  return epi;
}

function matmulShape(ctx: OpCtx): { K: number; N: number; transB: boolean } {
  const wd = ctx.dims(1);
  if (wd.length !== 2) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W must be 2-D, got ${fmtDims(wd)}`);
  const transB = attrInt(ctx, 'trans_b', 0) === 1;
  const [K, N] = transB ? [wd[1], wd[0]] : wd;
  return { K, N, transB };
}

/** sign(W) as N bit rows of K, once per session. */
function packedMatmulWeights(ctx: OpCtx, K: number, N: number, transB: boolean): Addr {
  return ctx.derived(1, `bits_${transB ? 'nk' : 'kn'}`, N * bitRowBytes(K), (src, dst) => {
    ctx.step('pack_signs_f32', src, N, K, transB ? K : 1, transB ? 1 : N, dst);
  });
}

const binaryMatmul: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    const { K, N } = matmulShape(ctx);
    const xd = ctx.dims(0);
    if (xd.length === 0 || xd[xd.length - 1] !== K) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X ${fmtDims(xd)} must end in K=${K}`);
    checkChannels(ctx, N);
    ctx.setOutput(0, 'float32', [...xd.slice(0, -1), N]);
  },
  lower(ctx) {
    const { K, N, transB } = matmulShape(ctx);
    const M = numel(ctx.dims(0)) / K;
    if (M === 0) return;
    const w = packedMatmulWeights(ctx, K, N, transB);
    const a = ctx.scratch(M * bitRowBytes(K));
    ctx.step('pack_signs_f32', ctx.in(0), M, K, K, 1, a);
    ctx.step('bgemm_b1b1', a, w, ctx.out(0), M, N, K, N, epilogue(ctx, N));
  },
};

const binaryConv: OpDef = {
  infer(ctx) {
    requireF32(ctx, 0, 'X');
    const g = convGeom(ctx);
    checkChannels(ctx, g.M * g.group);
    ctx.setOutput(0, 'float32', [ctx.dims(0)[0], g.M * g.group, ...g.outSpatial]);
  },
  lower(ctx) {
    if (numel(ctx.outDims(0)) === 0) return;
    const g = convGeom(ctx);
    const batch = ctx.dims(0)[0];
    const taps = numel(g.kernel);
    const K = taps * g.C;
    const channels = g.group * g.M;
    const w = ctx.derived(1, 'bconv_w', channels * bitRowBytes(K), (src, dst) => {
      ctx.step('pack_bconv_weights_f32', src, channels, g.C, taps, dst);
    });
    const P = numel(g.inSpatial);
    const x = ctx.scratch(batch * P * bitRowBytes(g.group * g.C));
    ctx.step('pack_signs_nchw_f32', ctx.in(0), batch, g.group * g.C, P, x);
    const chunk = Math.max(1, Math.min(numel(g.outSpatial), Math.floor(BCONV_CHUNK_BYTES / (2 * bitRowBytes(K)))));
    const scratch = ctx.scratch(chunk * (2 * bitRowBytes(K) + 4));
    ctx.step('bconv_b1b1', x, w, ctx.out(0), ctx.params(geomDescriptor(batch, g, chunk)), epilogue(ctx, channels), scratch);
  },
};

export const binaryOps: Record<string, OpDef> = {
  BinaryMatMul: binaryMatmul,
  BinaryConv: binaryConv,
};

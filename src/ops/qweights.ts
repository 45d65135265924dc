// Matmul with low-bit weights on the qw kernels (assembly/qw_pack.ts, gemm_q4.ts, gemm_q4_i8.ts):
// Y[M,N] = A[M,K]·Wᵀ (+ bias), W[n,k] = (q − zp)·scale per (n, block of bs along k). Weights
// are packed once per session; the GEMM runs either exactly on f32 activations or on int8
// activations quantized per row (onnxruntime's accuracy_level 4).

import type { Addr, OpCtx } from './context.js';

/** Where qw_pack reads q from (QW_SRC_* in assembly/qw_pack.ts). */
export const QW_SRC = { NBITS: 0, KN: 1, NK: 2 } as const;
/** How qw_pack reads zero points (QW_ZP_*). */
export const QW_ZP = { NONE: 0, NBITS: 1, PACKED: 2, BYTES: 3 } as const;

/** Largest block the kernels take (QW_MAX_BLOCK): a block's i32 dot cannot overflow. */
export const QW_MAX_BLOCK = 65536;

/** Bytes of the packed layout, as qw_pack_bytes computes them. */
export function qwPackBytes(N: number, K: number, bits: number, bs: number): number {
  const kb = Math.ceil(K / bs);
  const T = Math.ceil(N / 4);
  return T * ((kb * bs) / 8) * (bits * 4) + T * kb * 20;
}

/** Rows from which qwgemm_f32 takes the panel path (PANEL_MIN_ROWS in assembly/gemm_q4.ts). */
const QW_PANEL_MIN_ROWS = 3;

/** Scratch bytes qwgemm_f32 needs, as qwgemm_f32_scratch_bytes computes them. */
function qwF32ScratchBytes(M: number, K: number, bs: number): number {
  const Kp = Math.ceil(K / bs) * bs;
  return M < QW_PANEL_MIN_ROWS ? Kp * 4 : Math.ceil(M / 4) * K * 16 + Kp * 32;
}

export interface QwSource {
  /** Input index of the quantized weights (a constant). */
  input: number;
  /** Cache key of the packed form, unique per (weights, scales, zero points, format). */
  key: string;
  layout: number;
  signed: boolean;
  N: number;
  K: number;
  bits: number;
  bs: number;
  /** Scales in the layout's shape ([kb][N] for KN, else [N][kb]). */
  scale: Float32Array;
  zp?: { layout: number; bytes: Uint8Array };
}

/** The packed weights, built once per session (sources live only in scratch while packing). */
export function packQw(ctx: OpCtx, s: QwSource): Addr {
  if (ctx.numInputs <= s.input || !ctx.value(s.input)) ctx.fail('LOWBIT_UNSUPPORTED', `input ${s.input} (weights) must be a constant`);
  return ctx.derived(s.input, s.key, qwPackBytes(s.N, s.K, s.bits, s.bs), (src, dst) => {
    const scale = ctx.params(s.scale);
    const zp = s.zp ? ctx.params(s.zp.bytes) : 0;
    ctx.step('qw_pack', src, s.layout, s.signed ? 1 : 0, scale, zp, s.zp?.layout ?? QW_ZP.NONE, s.N, s.K, s.bits, s.bs, dst);
  });
}

export interface QwGemm {
  a: Addr;
  qw: Addr;
  out: Addr;
  bias?: Addr;
  M: number;
  N: number;
  K: number;
  bits: number;
  bs: number;
  /** Quantize activations to int8 per row (approximate by design) instead of the exact path. */
  int8: boolean;
  /** f32 [N][kb] zf·scale of fractional zero points (qw holds their integer parts), if any. */
  zpFraction?: Addr;
}

/** Emits Y = A·Wᵀ (+ bias) for row-major A [M,K] and Y [M,N]. */
export function emitQwGemm(ctx: OpCtx, g: QwGemm): void {
  if (g.M === 0) return;
  const bias = g.bias ?? 0;
  if (g.int8) {
    const kb = Math.ceil(g.K / g.bs);
    const aq = ctx.scratch(g.M * kb * g.bs);
    const ascale = ctx.scratch(g.M * 4);
    const asum = ctx.scratch(g.M * kb * 4);
    ctx.step('quantize_rows_i8', g.a, g.K, g.M, g.K, g.bs, aq, ascale, asum);
    ctx.step('qwgemm_i8', aq, ascale, asum, g.qw, g.out, g.N, g.M, g.N, g.K, g.bits, g.bs, bias);
  } else {
    const scratch = ctx.scratch(qwF32ScratchBytes(g.M, g.K, g.bs));
    ctx.step('qwgemm_f32', g.a, g.K, g.qw, g.out, g.N, g.M, g.N, g.K, g.bits, g.bs, bias, scratch);
  }
  if (g.zpFraction !== undefined) {
    const blockSums = ctx.scratch(Math.ceil(g.K / g.bs) * 4);
    ctx.step('qw_zp_fraction', g.a, g.K, g.zpFraction, g.out, g.N, g.M, g.N, g.K, g.bs, blockSums);
  }
}

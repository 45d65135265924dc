// Exact path of the low-bit weight GEMM: f32 activations, Y[M,N] = A[M,K]·Wᵀ (+ bias[n]),
// W[n,k] = (q − zp)·scale from the packed qw layout (qw_pack.ts), computed per block as
//   y[m,n] = Σ_b scale[n,b] · Σ_{k∈b} (q[n,k] − zp[n,b]) · a[m,k]   (+ bias[n])
// with q − zp exact integers converted to f32. Error bound (tested): every f32 sum of j terms is
// within (j−1)·u of its exact value relative to the sum of magnitudes, u = 2^−24, so
//   |y − y_exact| ≤ (K + 2)·u · Σ_k |scale[n,⌊k/bs⌋]·(q − zp)·a[m,k]|
// (the GEMM path multiplies by the scale before summing; the same bound holds).
//
// M < PANEL_MIN_ROWS (GEMV): per row and tile of 4 channels, gemm_q4_rows.ts. M ≥ PANEL_MIN_ROWS:
// each pair of tiles is dequantized into an 8-column f32 panel ((q − zp)·scale) and multiplied
// by the packed activations with the f32 4×8 microkernel of gemm_f32_pp, so unpacking costs
// once per weight per call, not once per row.

import { gemm_f32_pp, pack_a_f32 } from './gemm_f32';
import { QW_OK, qwCheck, qwUnitBytes } from './qw_pack';
import { NIB_MASKS, SEL0, SEL1, SEL2, SEL3, pick, qwAt, unitHi, unitLo, unitNib, wq, zpVec } from './qw_units';
import { tileRowF32_8_simd, tileRowF32_nib4_simd, tileRowF32_nib_simd, tileRowF32_scalar } from './gemm_q4_rows';

/** Rows from which dequantizing panels once beats converting the weights per row (measured: 3). */
const PANEL_MIN_ROWS: i32 = 3;

/** Bytes of scratch qwgemm_f32 needs for M rows. */
export function qwgemm_f32_scratch_bytes(M: i32, K: i32, bs: i32): i32 {
  const Kp = ((K + bs - 1) / bs) * bs;
  if (M < PANEL_MIN_ROWS) return Kp << 2;
  return ((M + 3) >> 2) * (K << 4) + (Kp << 5);
}

/**
 * Y = A·Wᵀ (+ bias) with W packed by qw_pack; A is M×K f32 with row stride lda, Y has row
 * stride ldc, bias is f32[N] or 0. `scratch` holds qwgemm_f32_scratch_bytes(M, K, bs) bytes
 * (16-byte aligned). Returns QW_OK or a QW_BAD_* code.
 */
export function qwgemm_f32(
  a: usize, lda: i32, qw: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bits: i32, bs: i32,
  bias: usize, scratch: usize,
): i32 {
  const bad = qwCheck(N, K, bits, bs);
  if (bad != QW_OK) return bad;
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  const U = Kp >> 3;
  const T = (N + 3) >> 2;
  const SB = <usize>qwUnitBytes(bits);
  const tileBytes = <usize>U * SB;
  const scales = qw + <usize>T * tileBytes;
  const zps = scales + <usize>T * <usize>kb * 16;
  if (M >= PANEL_MIN_ROWS) {
    const ap = scratch;
    const panel = scratch + <usize>((M + 3) >> 2) * (<usize>K << 4);
    pack_a_f32(a, lda, ap, M, K);
    for (let n0 = 0; n0 < N; n0 += 8) {
      const t = n0 >> 2;
      dequantTile(qw + <usize>t * tileBytes, scales + <usize>t * <usize>kb * 16, zps + <usize>t * <usize>kb * 4, panel, kb, bs >> 3, bits, SB);
      if (t + 1 < T) {
        dequantTile(qw + <usize>(t + 1) * tileBytes, scales + <usize>(t + 1) * <usize>kb * 16, zps + <usize>(t + 1) * <usize>kb * 4,
          panel + 16, kb, bs >> 3, bits, SB);
      }
      gemm_f32_pp(ap, panel, c + (<usize>n0 << 2), ldc, M, min(8, N - n0), K, bias ? bias + (<usize>n0 << 2) : 0, bias ? 1 : 0, 0, 0, 0);
    }
    return QW_OK;
  }
  const apad = scratch;
  for (let m = 0; m < M; m++) {
    // The row is copied zero-padded to Kp so that whole units never read past K.
    const src = a + <usize>m * (<usize>lda << 2);
    memory.copy(apad, src, <usize>K << 2);
    memory.fill(apad + (<usize>K << 2), 0, <usize>(Kp - K) << 2);
    if (ASC_FEATURE_SIMD && bits <= 4) {
      // Exact power-of-two rescaling for tileRowF32_nib_simd (values below 2^−102 lose bits).
      for (let k = 0; k < K; k++) store<f32>(apad + (<usize>k << 2), load<f32>(apad + (<usize>k << 2)) * 5.9604644775390625e-8);
    }
    const y = c + <usize>m * (<usize>ldc << 2);
    for (let t = 0; t < T; t++) {
      const pw = qw + <usize>t * tileBytes;
      const ps = scales + <usize>t * <usize>kb * 16;
      const pz = zps + <usize>t * <usize>kb * 4;
      const nv = min(4, N - (t << 2));
      if (ASC_FEATURE_SIMD) {
        let v = bits == 8 ? tileRowF32_8_simd(apad, pw, ps, pz, kb, bs >> 3)
          : SB == 16 ? tileRowF32_nib4_simd(apad, pw, ps, pz, kb, bs >> 3)
          : tileRowF32_nib_simd(apad, pw, ps, pz, kb, bs >> 3, SB);
        if (nv == 4) {
          if (bias) v = f32x4.add(v, v128.load(bias + (<usize>t << 4)));
          v128.store(y + (<usize>t << 4), v);
        } else {
          v128.store(ROW, v);
          for (let j = 0; j < nv; j++) {
            let s = load<f32>(ROW + (<usize>j << 2));
            if (bias) s += load<f32>(bias + (<usize>((t << 2) + j) << 2));
            store<f32>(y + (<usize>((t << 2) + j) << 2), s);
          }
        }
      } else {
        for (let j = 0; j < nv; j++) {
          let v = tileRowF32_scalar(apad, pw, ps, pz, kb, bs >> 3, bits, SB, j);
          if (bias) v += load<f32>(bias + (<usize>((t << 2) + j) << 2));
          store<f32>(y + (<usize>((t << 2) + j) << 2), v);
        }
      }
    }
  }
  return QW_OK;
}

const ROW: usize = memory.data(16, 16);

/**
 * Writes (q − zp)·scale of one tile into 4 columns of an 8-wide f32 panel ([Kp][8], rows past K
 * hold padding·scale = 0 and are not read by gemm_f32_pp).
 */
function dequantTile(pw: usize, ps: usize, pz: usize, panel: usize, kb: i32, upb: i32, bits: i32, SB: usize): void {
  if (ASC_FEATURE_SIMD && bits <= 4) {
    dequantTile_nib_simd(pw, ps, pz, panel, kb, upb, SB);
    return;
  }
  let dst = panel;
  for (let b = 0; b < kb; b++) {
    if (ASC_FEATURE_SIMD) {
      const zp = zpVec(pz + (<usize>b << 2));
      const s = v128.load(ps + (<usize>b << 4));
      for (let u = 0; u < upb; u++) {
        const lo = unitLo(pw, bits);
        v128.store(dst, f32x4.mul(wq(lo, SEL0(), zp), s), 0);
        v128.store(dst, f32x4.mul(wq(lo, SEL1(), zp), s), 32);
        v128.store(dst, f32x4.mul(wq(lo, SEL2(), zp), s), 64);
        v128.store(dst, f32x4.mul(wq(lo, SEL3(), zp), s), 96);
        const hi = unitHi(pw, bits);
        v128.store(dst, f32x4.mul(wq(hi, SEL0(), zp), s), 128);
        v128.store(dst, f32x4.mul(wq(hi, SEL1(), zp), s), 160);
        v128.store(dst, f32x4.mul(wq(hi, SEL2(), zp), s), 192);
        v128.store(dst, f32x4.mul(wq(hi, SEL3(), zp), s), 224);
        pw += SB;
        dst += 256;
      }
    } else {
      for (let u = 0; u < upb; u++) {
        for (let i = 0; i < 8; i++) {
          for (let j = 0; j < 4; j++) {
            const zp = <i32>load<u8>(pz + (<usize>b << 2) + <usize>j);
            const s = load<f32>(ps + (<usize>b << 4) + (<usize>j << 2));
            store<f32>(dst + (<usize>((i << 3) + j) << 2), <f32>(qwAt(pw, j, i, bits) - zp) * s);
          }
        }
        pw += SB;
        dst += 256;
      }
    }
  }
}

/** dequantTile for bits ≤ 4, SIMD builds. */
function dequantTile_nib_simd(pw: usize, ps: usize, pz: usize, panel: usize, kb: i32, upb: i32, SB: usize): void {
  const t0 = v128.load(NIB_MASKS, 96), t1 = v128.load(NIB_MASKS, 112), t2 = v128.load(NIB_MASKS, 128), t3 = v128.load(NIB_MASKS, 144);
  const m15 = v128.load(NIB_MASKS, 64), zpSpread = v128.load(NIB_MASKS, 80);
  let dst = panel;
  for (let b = 0; b < kb; b++) {
    // As in tileRowF32_nib_simd, q − zp is formed once per 16 bytes in i8 and converted from
    // the top byte, (q − zp)·2^24; the scale takes the 2^−24 (exact unless scale < 2^−102).
    const zpb = pick(v128.load32_zero(pz + (<usize>b << 2)), zpSpread);
    const s = f32x4.mul(v128.load(ps + (<usize>b << 4)), f32x4.splat(5.9604644775390625e-8));
    for (let u = 0; u < upb; u++) {
      const w = unitNib(pw, SB);
      const lo = i8x16.sub(v128.and(w, m15), zpb);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t0)), s), 0);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t1)), s), 32);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t2)), s), 64);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t3)), s), 96);
      const hi = i8x16.sub(v128.and(i16x8.shr_u(w, 4), m15), zpb);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t0)), s), 128);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t1)), s), 160);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t2)), s), 192);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t3)), s), 224);
      pw += SB;
      dst += 256;
    }
  }
}

/**
 * Scalar reference on the plain layout: q u8 [N][K] (unsigned), scale f32 [N][kb], zp u8
 * [N][kb]; y[m,n] = Σ_b scale·Σ_{k∈b, k<K} (q − zp)·a (+ bias[n]), summed in k order.
 */
export function qwgemm_f32__ref(
  a: usize, lda: i32, q: usize, scale: usize, zp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bs: i32, bias: usize,
): void {
  const kb = (K + bs - 1) / bs;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc: f32 = 0;
      for (let b = 0; b < kb; b++) {
        const z = <i32>load<u8>(zp + <usize>n * <usize>kb + <usize>b);
        let part: f32 = 0;
        for (let k = b * bs; k < min(K, (b + 1) * bs); k++) {
          part += <f32>(<i32>load<u8>(q + <usize>n * <usize>K + <usize>k) - z) * load<f32>(a + ((<usize>m * <usize>lda + <usize>k) << 2));
        }
        acc += part * load<f32>(scale + ((<usize>n * <usize>kb + <usize>b) << 2));
      }
      if (bias) acc += load<f32>(bias + (<usize>n << 2));
      store<f32>(c + ((<usize>m * <usize>ldc + <usize>n) << 2), acc);
    }
  }
}

// Binary weights × int8 or f32 activations (first / last layers of a binary net): masked add/sub.
//
//   bgemm_b1i8(a, lda, b, c, M, N, K, ldc, epi) → 0, or 1 on a bad epilogue / size
//     a  int8 M×K row-major, leading dimension lda bytes
//     b  N bit rows of K elements (the binary weights, pack_signs_f32 / pack_signs_i8)
//     c  kind I32/F32: M×N row-major (ldc elements); kind SIGN: M bit rows of N elements
//     dot = Σ_k a[k]·w[k] = Σ_k a[k] − 2·Σ_{w[k] = −1} a[k], exact in i32 for K ≤ 2^23.
//   bgemm_b1f32(a, lda, b, c, M, N, K, ldc, epi): a f32 (lda elements); epilogue kind F32 only.
//     dot = Σ_k ±a[k] in f32: the sign flip is exact, the sum is within the usual f32 bound
//     |dot − exact| ≤ γ_K·Σ|a| (the simd builds sum 4 lanes then across; the order differs
//     from the reference's sequential sum).
//   bgemm_b1i8__ref / bgemm_b1f32__ref: the same with b as int8 ±1 N×K (plain layout), SIGN
//     output int8 ±1 M×N (ldc).
//
// SIMD: per 16 elements the 16 weight bits become a byte mask (0xFF where w = −1) by a splat, a
// swizzle that puts byte 0 in lanes 0..7 and byte 1 in lanes 8..15, and a compare against the
// lane's bit; int8: Σ (a and mask) through pairwise extadds (i16 runs of ≤ 120 blocks: 120·256
// < 2^15); f32: the mask's i32 lanes become sign bits XORed into a. Tile 4 rows × 1 column.
// K tails past the last whole 16 run scalar.

import { bit_row_bytes, getBit } from './bitpack';
import { BEPI_F32, BEPI_SIGN, epiF32, epilogueKind, setBinaryEpilogue, storeDot } from './bgemm_epilogue';
import { clearRowPadding, storePlain } from './bgemm_b1b1';

const SUMS: usize = memory.data(16, 16);
/** Σ_k a[k] of the rows of the current tile. */
const ROW_SUMS: usize = memory.data(16, 16);
const RUN16: i32 = 120;

// @ts-ignore: decorator
@inline function byteMask(brow: usize, k: i32): v128 {
  const sel = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const bits = i8x16.swizzle(v128.load16_splat(brow + (<usize>k >> 3)), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  return i8x16.eq(v128.and(bits, sel), sel);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** Σ over the first K16 elements of a[k] where w[k] = −1, rows a0..a3, into SUMS. */
function mk4x1_i8(a0: usize, a1: usize, a2: usize, a3: usize, brow: usize, K16: i32): void {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  let k = 0;
  while (k < K16) {
    const end = min(k + (RUN16 << 4), K16);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (; k < end; k += 16) {
      const m = byteMask(brow, k);
      const off = <usize>k;
      p0 = i16x8.add(p0, i16x8.extadd_pairwise_i8x16_s(v128.and(v128.load(a0 + off), m)));
      p1 = i16x8.add(p1, i16x8.extadd_pairwise_i8x16_s(v128.and(v128.load(a1 + off), m)));
      p2 = i16x8.add(p2, i16x8.extadd_pairwise_i8x16_s(v128.and(v128.load(a2 + off), m)));
      p3 = i16x8.add(p3, i16x8.extadd_pairwise_i8x16_s(v128.and(v128.load(a3 + off), m)));
    }
    s0 = i32x4.add(s0, i32x4.extadd_pairwise_i16x8_s(p0));
    s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_s(p1));
    s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_s(p2));
    s3 = i32x4.add(s3, i32x4.extadd_pairwise_i16x8_s(p3));
  }
  store<i32>(SUMS, hsum(s0)); store<i32>(SUMS, hsum(s1), 4);
  store<i32>(SUMS, hsum(s2), 8); store<i32>(SUMS, hsum(s3), 12);
}

/** Σ over the first K16 elements of ±a[k] (f32), rows a0..a3, into SUMS (as f32). */
function mk4x1_f32(a0: usize, a1: usize, a2: usize, a3: usize, brow: usize, K16: i32): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  for (let k = 0; k < K16; k += 16) {
    const bits = i32x4.splat(<i32>load<u16>(brow + (<usize>k >> 3)));
    for (let q = 0; q < 4; q++) {
      const sel = i32x4.shl(i32x4(1, 2, 4, 8), q << 2);
      const sgn = i32x4.shl(i32x4.eq(v128.and(bits, sel), sel), 31);
      const off = <usize>(k + (q << 2)) << 2;
      s0 = f32x4.add(s0, v128.xor(v128.load(a0 + off), sgn));
      s1 = f32x4.add(s1, v128.xor(v128.load(a1 + off), sgn));
      s2 = f32x4.add(s2, v128.xor(v128.load(a2 + off), sgn));
      s3 = f32x4.add(s3, v128.xor(v128.load(a3 + off), sgn));
    }
  }
  store<f32>(SUMS, f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3));
  store<f32>(SUMS, f32x4.extract_lane(s1, 0) + f32x4.extract_lane(s1, 1) + f32x4.extract_lane(s1, 2) + f32x4.extract_lane(s1, 3), 4);
  store<f32>(SUMS, f32x4.extract_lane(s2, 0) + f32x4.extract_lane(s2, 1) + f32x4.extract_lane(s2, 2) + f32x4.extract_lane(s2, 3), 8);
  store<f32>(SUMS, f32x4.extract_lane(s3, 0) + f32x4.extract_lane(s3, 1) + f32x4.extract_lane(s3, 2) + f32x4.extract_lane(s3, 3), 12);
}

function checkArgs(M: i32, N: i32, K: i32, epi: usize): bool {
  return M >= 0 && N >= 0 && K >= 0 && setBinaryEpilogue(epi) == 0;
}

/** Binary weights × int8 activations (see the top of this file). */
export function bgemm_b1i8(a: usize, lda: i32, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi)) return 1;
  const rb = <usize>bit_row_bytes(K);
  const sign = epilogueKind() == BEPI_SIGN;
  const crs = sign ? bit_row_bytes(N) : ldc;
  if (sign) clearRowPadding(c, M, crs, N);
  const K16 = ASC_FEATURE_SIMD ? K & ~15 : 0;
  for (let r0 = 0; r0 < M; r0 += 4) {
    const mv = min(4, M - r0);
    const a0 = a + <usize>r0 * <usize>lda;
    for (let i = 0; i < mv; i++) {
      let all = 0;
      for (let k = 0; k < K; k++) all += <i32>load<i8>(a0 + <usize>i * <usize>lda + <usize>k);
      store<i32>(ROW_SUMS + (<usize>i << 2), all);
    }
    for (let n = 0; n < N; n++) {
      const brow = b + <usize>n * rb;
      if (ASC_FEATURE_SIMD) {
        const la = <usize>lda;
        mk4x1_i8(a0, mv > 1 ? a0 + la : a0, mv > 2 ? a0 + 2 * la : a0, mv > 3 ? a0 + 3 * la : a0, brow, K16);
      }
      for (let i = 0; i < mv; i++) {
        const ar = a0 + <usize>i * <usize>lda;
        let neg = K16 ? load<i32>(SUMS + (<usize>i << 2)) : 0;
        for (let k = K16; k < K; k++) if (getBit(brow, k)) neg += <i32>load<i8>(ar + <usize>k);
        storeDot(c, crs, 1, 0, r0 + i, n, n, load<i32>(ROW_SUMS + (<usize>i << 2)) - 2 * neg);
      }
    }
  }
  return 0;
}

/** Binary weights × f32 activations (see the top of this file). */
export function bgemm_b1f32(a: usize, lda: i32, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi) || epilogueKind() != BEPI_F32) return 1;
  const rb = <usize>bit_row_bytes(K);
  const K16 = ASC_FEATURE_SIMD ? K & ~15 : 0;
  const la = <usize>lda << 2;
  for (let r0 = 0; r0 < M; r0 += 4) {
    const mv = min(4, M - r0);
    const a0 = a + <usize>r0 * la;
    for (let n = 0; n < N; n++) {
      const brow = b + <usize>n * rb;
      if (ASC_FEATURE_SIMD) {
        mk4x1_f32(a0, mv > 1 ? a0 + la : a0, mv > 2 ? a0 + 2 * la : a0, mv > 3 ? a0 + 3 * la : a0, brow, K16);
      }
      for (let i = 0; i < mv; i++) {
        const ar = a0 + <usize>i * la;
        let s: f32 = K16 ? load<f32>(SUMS + (<usize>i << 2)) : 0;
        for (let k = K16; k < K; k++) {
          const v = load<f32>(ar + (<usize>k << 2));
          s += getBit(brow, k) ? -v : v;
        }
        store<f32>(c + ((<usize>(r0 + i) * <usize>ldc + <usize>n) << 2), epiF32(s, n));
      }
    }
  }
  return 0;
}

/** Reference: a int8 M×K (lda), b int8 ±1 N×K; SIGN output int8 ±1 M×N (ldc). */
export function bgemm_b1i8__ref(a: usize, lda: i32, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi)) return 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let k = 0; k < K; k++) {
        dot += <i32>load<i8>(a + <usize>m * <usize>lda + <usize>k) * <i32>load<i8>(b + <usize>n * <usize>K + <usize>k);
      }
      storePlain(c, ldc, m, n, n, dot);
    }
  }
  return 0;
}

/** Reference: a f32 M×K (lda elements), b int8 ±1 N×K; sequential f32 sum, then the epilogue. */
export function bgemm_b1f32__ref(a: usize, lda: i32, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi) || epilogueKind() != BEPI_F32) return 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) {
        s += load<f32>(a + ((<usize>m * <usize>lda + <usize>k) << 2)) * <f32>load<i8>(b + <usize>n * <usize>K + <usize>k);
      }
      store<f32>(c + ((<usize>m * <usize>ldc + <usize>n) << 2), epiF32(s, n));
    }
  }
  return 0;
}

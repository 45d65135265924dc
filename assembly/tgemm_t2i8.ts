// Ternary weights ({−1, 0, +1}, BitNet b1.58 style) × int8 activations, exact integer dot.
//
//   tgemm_t2i8(a, lda, ascale, w, c, M, N, K, ldc, epi) → 0, or 1 on a bad size / epilogue
//     a       int8 M×K row-major, leading dimension lda bytes (per-token absmax quantised, e.g.
//             by quantize_rows_i8 with bs = K; any int8 value, −128 included, is exact)
//     ascale  f32 [M] activation scales, or 0 for 1
//     w       N ternary rows of K elements (ternary_pack.ts; weights B as N×K = "transB")
//     c       M×N row-major, leading dimension ldc elements (i32 or f32 by the epilogue kind)
//     epi     binary epilogue descriptor (bgemm_epilogue.ts), kind I32 or F32 (SIGN refused);
//             its per-channel scale is the weight scale (a per-tensor scale is N copies)
//   tgemm_t2i8__ref: the same with w as plain int8 {−1, 0, +1} N×K; it never reads a packed row.
//
// dot[m, n] = Σ_k a[m, k]·w[n, k], exact in i32 (|dot| ≤ 128·K < 2^31 for K < 2^24).
// Kind I32 stores dot. Kind F32 stores, as f32 operations each rounded, no fused multiply-add:
//   y = f32(dot) · ascale[m];  y = y · wscale[n];  y = y + bias[n];  y = act(y)
// (f32(dot) is exact for |dot| < 2^24), so every build and the reference agree bit for bit.
//
// Inner loop (simd builds) on the codes c = w + 1 ∈ {0, 1, 2} of 16 consecutive elements
// (ternary_pack.ts: `and 3` of a packed block, or an i16 shift by 2i then `and 3`, constant i):
// Σ a·w = Σ a·c − Σ a, with Σ a of the row computed once per call.
//   relaxed: i16x8.relaxed_dot_i8x16_i7x16_s(a, c) — c is the 7-bit operand (0..127, so the
//     result is deterministic); not relaxed_dot_add (Node 20's baseline tier gets it wrong).
//     An i16 lane gains two products, |a·c| ≤ 256, per 16 elements, so i16 runs of ≤ 63 groups
//     cannot overflow (63·512 < 2^15); runs are RUN_GROUPS = 60, then widened to i32 by a
//     pairwise extadd.
//   simd128: the activations widened to i16 once per 16 (shared by the tile's channels), the
//     codes zero-extended, i32x4.dot_i16x8_s into i32 lanes (no overflow for K < 2^24).
// Measured (bench/kernels/ternary.ts, GEMV 1×4096×4096): simd128 with i16x8.extmul_*_i8x16_s on
// the int8 pair ≈ 1.7 ms vs ≈ 0.8–1.0 ms with the i16 dot; variable sub-block shifts (a loop
// over i, i8x16.shr_u) ≈ 1.95 ms vs ≈ 0.6 ms relaxed with the unrolled constant shifts (V8
// emulates variable i8x16 shifts). The machine is shared: numbers are indicative.
// Byte-mask select + add/sub was not taken: it needs two masks, two ands and two extadds per
// 16 elements and channel, where the codes need ≤ 2 ops and the product 1 (relaxed).
// Tiles: GEMV rows (M < 4, and the rows past the last quad) 1 row × 4 channels with the packed
// blocks held in registers; GEMM 4 rows × 2 channels (8 accumulators), each code vector shared
// by 4 rows. Elements past the last whole 16 run scalar on the packed codes; the scalar build
// runs everything that way.

import { ternary_row_bytes, ternaryCode } from './ternary_pack';
import { BEPI_F32, BEPI_I32, epiF32, epilogueKind, setBinaryEpilogue } from './bgemm_epilogue';

/** Tile results: Σ a·c (code dots), up to 8 i32. */
const DOTS: usize = memory.data(32, 16);
/** Σ a over the SIMD part of the rows of the current tile. */
const ROW_SUMS: usize = memory.data(16, 16);
const RUN_GROUPS: i32 = 60;

/** Codes of the 16 elements at sub-block i (0..3) of a packed block. */
// @ts-ignore: decorator
@inline function codes(blk: v128, i: i32): v128 {
  // An i16 shift then the byte mask: V8 lowers i8x16.shr_u to a 16-bit shift plus its own mask.
  if (i == 0) return v128.and(blk, i8x16.splat(3));
  return v128.and(i16x8.shr_u(blk, <u32>(i << 1)), i8x16.splat(3));
}

/** The activation operand of dotCodes: int8 as loaded (relaxed) or widened to i16 (simd128). */
// @ts-ignore: decorator
@inline function lowHalf(x: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? x : i16x8.extend_low_i8x16_s(x);
}

// @ts-ignore: decorator
@inline function highHalf(x: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? x : i16x8.extend_high_i8x16_s(x);
}

/**
 * Lanes of products a·c of 16 elements: relaxed, i16 lanes of two products from the int8 x
 * (xl = xh = x); simd128, i32 lanes of four products from x widened to i16 (xl, xh).
 */
// @ts-ignore: decorator
@inline function dotCodes(xl: v128, xh: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(xl, c);
  return i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_u(c)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_u(c)));
}

/** Run accumulator + dotCodes lanes (i16 relaxed, i32 simd128). */
// @ts-ignore: decorator
@inline function accum(p: v128, d: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i16x8.add(p, d) : i32x4.add(p, d);
}

/** A run accumulator as i32 lanes. */
// @ts-ignore: decorator
@inline function widen(p: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i32x4.extadd_pairwise_i16x8_s(p) : p;
}

// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** p + the code dot of x with sub-block i of packed block blk (i constant: fixed shifts). */
// @ts-ignore: decorator
@inline function step(p: v128, xl: v128, xh: v128, blk: v128, i: i32): v128 {
  return accum(p, dotCodes(xl, xh, codes(blk, i)));
}

/** Σ a·c of one row against 4 ternary rows over the first G groups of 16, into DOTS[0..3]. */
function mk1x4(a: usize, w0: usize, w1: usize, w2: usize, w3: usize, G: i32): void {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  let g = 0;
  while (g < G) {
    const gend = min(g + RUN_GROUPS, G);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (; g + 4 <= gend; g += 4) {
      const off = <usize>g << 2;
      const b0 = v128.load(w0 + off), b1 = v128.load(w1 + off), b2 = v128.load(w2 + off), b3 = v128.load(w3 + off);
      const ax = a + (<usize>g << 4);
      let x = v128.load(ax), xl = lowHalf(x), xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 0); p1 = step(p1, xl, xh, b1, 0); p2 = step(p2, xl, xh, b2, 0); p3 = step(p3, xl, xh, b3, 0);
      x = v128.load(ax, 16); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 1); p1 = step(p1, xl, xh, b1, 1); p2 = step(p2, xl, xh, b2, 1); p3 = step(p3, xl, xh, b3, 1);
      x = v128.load(ax, 32); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 2); p1 = step(p1, xl, xh, b1, 2); p2 = step(p2, xl, xh, b2, 2); p3 = step(p3, xl, xh, b3, 2);
      x = v128.load(ax, 48); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 3); p1 = step(p1, xl, xh, b1, 3); p2 = step(p2, xl, xh, b2, 3); p3 = step(p3, xl, xh, b3, 3);
    }
    if (g < gend) { // the whole groups of a last, partial block
      const off = <usize>g << 2;
      const b0 = v128.load(w0 + off), b1 = v128.load(w1 + off), b2 = v128.load(w2 + off), b3 = v128.load(w3 + off);
      for (let i = 0; g < gend; i++, g++) {
        const x = v128.load(a + (<usize>g << 4)), xl = lowHalf(x), xh = highHalf(x);
        p0 = step(p0, xl, xh, b0, i); p1 = step(p1, xl, xh, b1, i); p2 = step(p2, xl, xh, b2, i); p3 = step(p3, xl, xh, b3, i);
      }
    }
    s0 = i32x4.add(s0, widen(p0)); s1 = i32x4.add(s1, widen(p1));
    s2 = i32x4.add(s2, widen(p2)); s3 = i32x4.add(s3, widen(p3));
  }
  store<i32>(DOTS, hsum(s0)); store<i32>(DOTS, hsum(s1), 4);
  store<i32>(DOTS, hsum(s2), 8); store<i32>(DOTS, hsum(s3), 12);
}

/** Σ a·c of 4 rows against 2 ternary rows over the first G groups of 16; DOTS[2·row + col]. */
function mk4x2(a0: usize, a1: usize, a2: usize, a3: usize, w0: usize, w1: usize, G: i32): void {
  let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s10 = i32x4.splat(0), s11 = i32x4.splat(0);
  let s20 = i32x4.splat(0), s21 = i32x4.splat(0), s30 = i32x4.splat(0), s31 = i32x4.splat(0);
  let g = 0;
  while (g < G) {
    const gend = min(g + RUN_GROUPS, G);
    let p00 = i32x4.splat(0), p01 = i32x4.splat(0), p10 = i32x4.splat(0), p11 = i32x4.splat(0);
    let p20 = i32x4.splat(0), p21 = i32x4.splat(0), p30 = i32x4.splat(0), p31 = i32x4.splat(0);
    for (; g < gend; g++) {
      const off = <usize>(g >> 2) << 4;
      const i = g & 3;
      const c0 = codes(v128.load(w0 + off), i), c1 = codes(v128.load(w1 + off), i);
      const ax = <usize>g << 4;
      let x = v128.load(a0 + ax), xl = lowHalf(x), xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = v128.load(a1 + ax); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = v128.load(a2 + ax); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = v128.load(a3 + ax); xl = lowHalf(x); xh = highHalf(x);
      p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
    }
    s00 = i32x4.add(s00, widen(p00)); s01 = i32x4.add(s01, widen(p01));
    s10 = i32x4.add(s10, widen(p10)); s11 = i32x4.add(s11, widen(p11));
    s20 = i32x4.add(s20, widen(p20)); s21 = i32x4.add(s21, widen(p21));
    s30 = i32x4.add(s30, widen(p30)); s31 = i32x4.add(s31, widen(p31));
  }
  store<i32>(DOTS, hsum(s00)); store<i32>(DOTS, hsum(s01), 4);
  store<i32>(DOTS, hsum(s10), 8); store<i32>(DOTS, hsum(s11), 12);
  store<i32>(DOTS, hsum(s20), 16); store<i32>(DOTS, hsum(s21), 20);
  store<i32>(DOTS, hsum(s30), 24); store<i32>(DOTS, hsum(s31), 28);
}

function checkArgs(M: i32, N: i32, K: i32, epi: usize): bool {
  if (M < 0 || N < 0 || K < 0 || K >= 1 << 24 || setBinaryEpilogue(epi) != 0) return false;
  const kind = epilogueKind();
  return kind == BEPI_I32 || kind == BEPI_F32;
}

/** Stores dot of row m, column n by the epilogue (see the top of this file). */
// @ts-ignore: decorator
@inline function storeTernary(c: usize, ldc: i32, ascale: usize, m: i32, n: i32, dot: i32): void {
  const at = c + ((<usize>m * <usize>ldc + <usize>n) << 2);
  if (epilogueKind() == BEPI_I32) {
    store<i32>(at, dot);
    return;
  }
  let y = <f32>dot;
  if (ascale) y = y * load<f32>(ascale + (<usize>m << 2));
  store<f32>(at, epiF32(y, n));
}

/** Σ_{k<K16} a[k] of row `ar`: the code-dot correction. */
// @ts-ignore: decorator
@inline function rowSum(ar: usize, K16: i32): i32 {
  let s = 0;
  for (let k = 0; k < K16; k++) s += <i32>load<i8>(ar + <usize>k);
  return s;
}

/** The exact Σ_{K16≤k<K} a[k]·w[k] of row `ar`, from the packed codes. */
// @ts-ignore: decorator
@inline function tailDot(ar: usize, wrow: usize, K16: i32, K: i32): i32 {
  let s = 0;
  for (let k = K16; k < K; k++) s += <i32>load<i8>(ar + <usize>k) * (ternaryCode(wrow, k) - 1);
  return s;
}

/** One activation row against all N channels, 4 at a time. */
function gemvRow(ar: usize, ascale: usize, w: usize, c: usize, m: i32, N: i32, K: i32, ldc: i32): void {
  const rb = <usize>ternary_row_bytes(K);
  const K16 = ASC_FEATURE_SIMD ? K & ~15 : 0;
  const corr = rowSum(ar, K16);
  for (let n0 = 0; n0 < N; n0 += 4) {
    const nv = min(4, N - n0);
    const w0 = w + <usize>n0 * rb;
    if (ASC_FEATURE_SIMD) mk1x4(ar, w0, nv > 1 ? w0 + rb : w0, nv > 2 ? w0 + 2 * rb : w0, nv > 3 ? w0 + 3 * rb : w0, K16 >> 4);
    for (let j = 0; j < nv; j++) {
      const wrow = w0 + <usize>j * rb;
      const simd = K16 ? load<i32>(DOTS + (<usize>j << 2)) - corr : 0;
      storeTernary(c, ldc, ascale, m, n0 + j, simd + tailDot(ar, wrow, K16, K));
    }
  }
}

/** Ternary weights × int8 activations (see the top of this file). */
export function tgemm_t2i8(a: usize, lda: i32, ascale: usize, w: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi)) return 1;
  const rb = <usize>ternary_row_bytes(K);
  const la = <usize>lda;
  let m = 0;
  if (ASC_FEATURE_SIMD) {
    const K16 = K & ~15;
    for (; m + 4 <= M; m += 4) {
      const a0 = a + <usize>m * la;
      for (let i = 0; i < 4; i++) store<i32>(ROW_SUMS + (<usize>i << 2), rowSum(a0 + <usize>i * la, K16));
      for (let n = 0; n < N; n += 2) {
        const w0 = w + <usize>n * rb;
        const nv = min(2, N - n);
        mk4x2(a0, a0 + la, a0 + 2 * la, a0 + 3 * la, w0, nv > 1 ? w0 + rb : w0, K16 >> 4);
        for (let i = 0; i < 4; i++) {
          const ar = a0 + <usize>i * la;
          const corr = load<i32>(ROW_SUMS + (<usize>i << 2));
          for (let j = 0; j < nv; j++) {
            const simd = load<i32>(DOTS + (<usize>(2 * i + j) << 2)) - corr;
            storeTernary(c, ldc, ascale, m + i, n + j, simd + tailDot(ar, w0 + <usize>j * rb, K16, K));
          }
        }
      }
    }
  }
  for (; m < M; m++) gemvRow(a + <usize>m * la, ascale, w, c, m, N, K, ldc);
  return 0;
}

/** Reference: w as plain int8 {−1, 0, +1} N×K; plain i32 dot, then the same epilogue. */
export function tgemm_t2i8__ref(a: usize, lda: i32, ascale: usize, w: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (!checkArgs(M, N, K, epi)) return 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let k = 0; k < K; k++) {
        dot += <i32>load<i8>(a + <usize>m * <usize>lda + <usize>k) * <i32>load<i8>(w + <usize>n * <usize>K + <usize>k);
      }
      storeTernary(c, ldc, ascale, m, n, dot);
    }
  }
  return 0;
}

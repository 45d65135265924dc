// Ternary weights ({−1, 0, +1}) × 8-bit activations, exact integer accumulation.
//
//   tgemm_t2i8(a, lda, aSigned, w, rowc, c, M, N, K, ldc, epi) → 0, or 1 on a bad size / epilogue
//     a     u8 or s8 (aSigned) M×K row-major, leading dimension lda bytes
//     w     N ternary rows of K elements (ternary_pack.ts; weights B as N×K = "transB")
//     rowc  i32 [N] added to column n's dot, or 0: the bias and zero-point term (ternary_rowc)
//     c     M×N row-major, leading dimension ldc elements of the epilogue's type
//     epi   gemm_i8_epilogue.ts descriptor (i32, requantise to u8/s8, or f32), index (m, n)
//   acc[m, n] = Σ_k a'[m, k]·w[n, k] + rowc[n], a' = a (s8) or a − 128 (u8: the sign bit
//   flipped), in wrapping i32; the dot itself is exact (|Σ a'·w| ≤ 128·K < 2^31 for K < 2^24).
//   tgemm_t2i8__ref(a, lda, aSigned, aZp, w, bias, c, M, N, K, ldc, epi): w plain int8 N×K,
//     acc = Σ_k (a − a_zp)·w + bias[n] (aZp, bias: addresses or 0) — it never reads a packed row.
//   ternary_rowc(sums, N, aZp, aSigned, bias, dst): dst[n] = bias[n] − zq·sums[n] with zq =
//     a_zp − (aSigned ? 0 : 128), so that Σ (a − a_zp)·w + bias = Σ a'·w + rowc exactly (mod 2^32).
//
// Inner loop (simd builds) on the codes c = w + 1 ∈ {0, 1, 2} of 16 consecutive elements
// (ternary_pack.ts: `and 3` of a packed block, or an i16 shift by 2i then `and 3`, constant i):
// Σ a'·w = Σ a'·c − Σ a', with Σ a' of the row computed once per row.
//   relaxed: i16x8.relaxed_dot_i8x16_i7x16_s(a', c) — c is the 7-bit operand (0..127, so the
//     result is deterministic); not relaxed_dot_add (Node 20's baseline tier gets it wrong).
//     An i16 lane gains two products, |a'·c| ≤ 256, per 16 elements, so i16 runs of ≤ 63 groups
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
// by 4 rows, stored 4 × 4 (vector epilogue stores along rows, or along columns for the conv).
// Elements past the last whole 16 run scalar on the packed codes; the scalar build runs
// everything that way.
//
// The same core serves the ternary convolution (tconv_t2i8.ts), whose rows are output
// positions and columns output channels: the output strides and the channel offset are state.

import { ternary_row_bytes, ternaryCode } from './ternary_pack';
import { outElemBytes, setEpilogue, storeFour, storeFourShared, storeOne } from './gemm_i8_epilogue';

/** Tile results: Σ a'·c (code dots), up to 8 i32. */
const DOTS: usize = memory.data(32, 16);
/** Σ a' over the SIMD part of the rows of the current tile. */
const ROW_SUMS: usize = memory.data(16, 16);
/** Four accumulators handed to the vector stores of the epilogue. */
const TILE: usize = memory.data(16, 16);
/** The 4×4 accumulators of gemmQuad, row-major. */
const ACC: usize = memory.data(64, 16);
const RUN_GROUPS: i32 = 60;

// The current call (kernels are not re-entrant): activation sign flip, where the tile goes.
let flip: u8 = 0;
let outC: usize = 0;
let outRs: usize = 0; // elements between rows
let outCs: usize = 0; // elements between columns
let eb: usize = 4;
let ch0: i32 = 0; // epilogue channel of column 0
let rowIdx: bool = true; // epilogue index (m, n); the convolution uses (0, channel)
let rowc: usize = 0;

/** Codes of the 16 elements at sub-block i (0..3) of a packed block. */
// @ts-ignore: decorator
@inline function codes(blk: v128, i: i32): v128 {
  // An i16 shift then the byte mask: V8 lowers i8x16.shr_u to a 16-bit shift plus its own mask.
  if (i == 0) return v128.and(blk, i8x16.splat(3));
  return v128.and(i16x8.shr_u(blk, <u32>(i << 1)), i8x16.splat(3));
}

/** 16 activations as s8 (a'). */
// @ts-ignore: decorator
@inline function loadA(p: usize): v128 {
  return v128.xor(v128.load(p), i8x16.splat(flip));
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
 * Lanes of products a'·c of 16 elements: relaxed, i16 lanes of two products from the int8 x
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

/** Σ a'·c of one row against 4 ternary rows over the first G groups of 16, into DOTS[0..3]. */
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
      let x = loadA(ax), xl = lowHalf(x), xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 0); p1 = step(p1, xl, xh, b1, 0); p2 = step(p2, xl, xh, b2, 0); p3 = step(p3, xl, xh, b3, 0);
      x = loadA(ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 1); p1 = step(p1, xl, xh, b1, 1); p2 = step(p2, xl, xh, b2, 1); p3 = step(p3, xl, xh, b3, 1);
      x = loadA(ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 2); p1 = step(p1, xl, xh, b1, 2); p2 = step(p2, xl, xh, b2, 2); p3 = step(p3, xl, xh, b3, 2);
      x = loadA(ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 3); p1 = step(p1, xl, xh, b1, 3); p2 = step(p2, xl, xh, b2, 3); p3 = step(p3, xl, xh, b3, 3);
    }
    if (g < gend) { // the whole groups of a last, partial block
      const off = <usize>g << 2;
      const b0 = v128.load(w0 + off), b1 = v128.load(w1 + off), b2 = v128.load(w2 + off), b3 = v128.load(w3 + off);
      for (let i = 0; g < gend; i++, g++) {
        const x = loadA(a + (<usize>g << 4)), xl = lowHalf(x), xh = highHalf(x);
        p0 = step(p0, xl, xh, b0, i); p1 = step(p1, xl, xh, b1, i); p2 = step(p2, xl, xh, b2, i); p3 = step(p3, xl, xh, b3, i);
      }
    }
    s0 = i32x4.add(s0, widen(p0)); s1 = i32x4.add(s1, widen(p1));
    s2 = i32x4.add(s2, widen(p2)); s3 = i32x4.add(s3, widen(p3));
  }
  store<i32>(DOTS, hsum(s0)); store<i32>(DOTS, hsum(s1), 4);
  store<i32>(DOTS, hsum(s2), 8); store<i32>(DOTS, hsum(s3), 12);
}

/** Σ a'·c of 4 rows against 2 ternary rows over the first G groups of 16; DOTS[2·row + col]. */
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
      let x = loadA(a0 + ax), xl = lowHalf(x), xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadA(a1 + ax); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadA(a2 + ax); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadA(a3 + ax); xl = lowHalf(x); xh = highHalf(x);
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

/** Σ_{k<K16} a'[k] of row `ar` (simd builds): the code-dot correction. */
// @ts-ignore: decorator
@inline function rowSum(ar: usize, K16: i32): i32 {
  let s = i32x4.splat(0);
  for (let k = 0; k < K16; k += 16) s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(loadA(ar + <usize>k))));
  return hsum(s);
}

// @ts-ignore: decorator
@inline function ldA(p: usize): i32 {
  return <i32><i8>(load<u8>(p) ^ flip);
}

/** The exact Σ_{K16≤k<K} a'[k]·w[k] of row `ar`, from the packed codes. */
// @ts-ignore: decorator
@inline function tailDot(ar: usize, wrow: usize, K16: i32, K: i32): i32 {
  let s = 0;
  for (let k = K16; k < K; k++) s += ldA(ar + <usize>k) * (ternaryCode(wrow, k) - 1);
  return s;
}

// @ts-ignore: decorator
@inline function withRowc(n: i32, dot: i32): i32 {
  return rowc ? dot + load<i32>(rowc + (<usize>n << 2)) : dot;
}

// @ts-ignore: decorator
@inline function outAt(m: i32, n: i32): usize {
  return outC + (<usize>m * outRs + <usize>n * outCs) * eb;
}

/** The epilogue of one accumulator (rowc already added). */
// @ts-ignore: decorator
@inline function storeAcc(m: i32, n: i32, acc: i32): void {
  storeOne(acc, outAt(m, n), rowIdx ? m : 0, ch0 + n);
}

/** One activation row against all N channels, 4 at a time. */
function gemvRow(ar: usize, w: usize, m: i32, N: i32, K: i32): void {
  const rb = <usize>ternary_row_bytes(K);
  const K16 = ASC_FEATURE_SIMD ? K & ~15 : 0;
  let corr = 0;
  if (ASC_FEATURE_SIMD) {
    if (K16) corr = rowSum(ar, K16);
  }
  for (let n0 = 0; n0 < N; n0 += 4) {
    const nv = min(4, N - n0);
    const w0 = w + <usize>n0 * rb;
    if (ASC_FEATURE_SIMD) {
      if (K16) mk1x4(ar, w0, nv > 1 ? w0 + rb : w0, nv > 2 ? w0 + 2 * rb : w0, nv > 3 ? w0 + 3 * rb : w0, K16 >> 4);
    }
    for (let j = 0; j < nv; j++) {
      const simd = K16 ? load<i32>(DOTS + (<usize>j << 2)) - corr : 0;
      store<i32>(TILE + (<usize>j << 2), withRowc(n0 + j, simd + tailDot(ar, w0 + <usize>j * rb, K16, K)));
    }
    let stored = false;
    if (ASC_FEATURE_SIMD) {
      if (nv == 4 && outCs == 1) {
        storeFour(TILE, outAt(m, n0), rowIdx ? m : 0, ch0 + n0, 4);
        stored = true;
      }
    }
    if (!stored) for (let j = 0; j < nv; j++) storeAcc(m, n0 + j, load<i32>(TILE + (<usize>j << 2)));
  }
}

/** Rows [m, m+4) against all N channels: 4 at a time by two 4×2 tiles (simd builds). */
function gemmQuad(a0: usize, la: usize, w: usize, m: i32, N: i32, K: i32): void {
  const rb = <usize>ternary_row_bytes(K);
  const K16 = K & ~15;
  for (let i = 0; i < 4; i++) store<i32>(ROW_SUMS + (<usize>i << 2), rowSum(a0 + <usize>i * la, K16));
  for (let n = 0; n < N; n += 4) {
    const nv = min(4, N - n);
    for (let h = 0; h < nv; h += 2) {
      const w0 = w + <usize>(n + h) * rb;
      mk4x2(a0, a0 + la, a0 + 2 * la, a0 + 3 * la, w0, nv > h + 1 ? w0 + rb : w0, K16 >> 4);
      for (let j = h; j < min(h + 2, nv); j++) {
        for (let i = 0; i < 4; i++) {
          const dot = load<i32>(DOTS + (<usize>(2 * i + j - h) << 2)) - load<i32>(ROW_SUMS + (<usize>i << 2));
          store<i32>(ACC + (<usize>(4 * i + j) << 2), withRowc(n + j, dot + tailDot(a0 + <usize>i * la, w + <usize>(n + j) * rb, K16, K)));
        }
      }
    }
    if (outCs == 1 && nv == 4) {
      for (let i = 0; i < 4; i++) storeFour(ACC + (<usize>i << 4), outAt(m + i, n), rowIdx ? m + i : 0, ch0 + n, 4);
    } else if (outRs == 1) {
      for (let j = 0; j < nv; j++) {
        for (let i = 0; i < 4; i++) store<i32>(TILE + (<usize>i << 2), load<i32>(ACC + (<usize>(4 * i + j) << 2)));
        storeFourShared(TILE, outAt(m, n + j), 0, ch0 + n + j, 4);
      }
    } else {
      for (let i = 0; i < 4; i++) for (let j = 0; j < nv; j++) storeAcc(m + i, n + j, load<i32>(ACC + (<usize>(4 * i + j) << 2)));
    }
  }
}

/**
 * The product of rows a (lda bytes apart, flip: 0x80 for u8, 0 for s8) with N ternary rows,
 * plus rowc, through the epilogue already set: element (m, n) stored at c + (m·rs + n·cs)
 * elements, epilogue index (rowIndexed ? m : 0, channel + n).
 */
export function tgemmCore(
  a: usize, lda: i32, aFlip: u8, w: usize, rc: usize, M: i32, N: i32, K: i32,
  c: usize, rs: i32, cs: i32, channel: i32, rowIndexed: bool,
): void {
  flip = aFlip;
  rowc = rc;
  outC = c;
  outRs = <usize>rs;
  outCs = <usize>cs;
  eb = <usize>outElemBytes();
  ch0 = channel;
  rowIdx = rowIndexed;
  const la = <usize>lda;
  let m = 0;
  if (ASC_FEATURE_SIMD) {
    if (K >= 16) for (; m + 4 <= M; m += 4) gemmQuad(a + <usize>m * la, la, w, m, N, K);
  }
  for (; m < M; m++) gemvRow(a + <usize>m * la, w, m, N, K);
}

function badSizes(M: i32, N: i32, K: i32, epi: usize): bool {
  return M < 0 || N < 0 || K < 0 || K >= 1 << 24 || setEpilogue(epi) != 0;
}

/** Ternary weights × u8/s8 activations (see the top of this file). */
export function tgemm_t2i8(a: usize, lda: i32, aSigned: i32, w: usize, rc: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (badSizes(M, N, K, epi)) return 1;
  tgemmCore(a, lda, aSigned ? 0 : 0x80, w, rc, M, N, K, c, ldc, 1, 0, true);
  return 0;
}

/** Σ_k w[n, k] of N packed ternary rows of K elements, into dst[n] (i32). */
export function ternary_row_sums(w: usize, N: i32, K: i32, dst: usize): void {
  const rb = <usize>ternary_row_bytes(K);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += ternaryCode(w + <usize>n * rb, k) - 1;
    store<i32>(dst + (<usize>n << 2), s);
  }
}

// @ts-ignore: decorator
@inline function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/** rowc[n] = bias[n] − (a_zp − off)·sums[n] (see the top of this file); bias and aZp may be 0. */
export function ternary_rowc(sums: usize, N: i32, aZp: usize, aSigned: i32, bias: usize, dst: usize): void {
  const zq = (aZp ? ld8(aZp, aSigned) : 0) - (aSigned ? 0 : 128);
  for (let n = 0; n < N; n++) {
    const at = <usize>n << 2;
    store<i32>(dst + at, (bias ? load<i32>(bias + at) : 0) - zq * load<i32>(sums + at));
  }
}

/** Reference: w as plain int8 {−1, 0, +1} N×K; Σ (a − a_zp)·w + bias, then the same epilogue. */
export function tgemm_t2i8__ref(
  a: usize, lda: i32, aSigned: i32, aZp: usize, w: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize,
): i32 {
  if (badSizes(M, N, K, epi)) return 1;
  const ebytes = <usize>outElemBytes();
  const za = aZp ? ld8(aZp, aSigned) : 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = bias ? load<i32>(bias + (<usize>n << 2)) : 0;
      for (let k = 0; k < K; k++) {
        acc += (ld8(a + <usize>m * <usize>lda + <usize>k, aSigned) - za) * <i32>load<i8>(w + <usize>n * <usize>K + <usize>k);
      }
      storeOne(acc, c + (<usize>m * <usize>ldc + <usize>n) * ebytes, m, n);
    }
  }
  return 0;
}

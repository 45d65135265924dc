// int8 GEMM / GEMV: C[M,N] = epilogue(Σ_k (a[m,k] − a_zp[m]) · (b[k,n] − b_zp[n])), exact in i32.
//
// A is u8 or s8 [M, lda] with a per-tensor or per-row zero point; B is constant u8 or s8 with a
// per-tensor or per-column zero point, packed once by pack_b_i8 (layouts: gemm_i8_pack.ts);
// the epilogue (i32 / requantise / dequantise) is a descriptor (gemm_i8_epilogue.ts).
//
// qgemm_i8 packs A into the caller's scratch, with row sums, then:
// - M ≥ 4 on SIMD builds: packed GEMM, slab-major (a 16-column slab of B stays in cache while
//   every A block passes over each of its quads).
//   dot path (i32x4.dot_i16x8_s; simd128, and relaxed when B is not 7-bit): 4×4 tile. A is
//   pre-widened to i16 at pack time; each 16-byte quad group (4 columns × 4 k) is widened in
//   registers once and serves 4 rows. dot_i16x8_s sums k pairs, so a row keeps two accumulators
//   per 4 columns ([c0 k01, c0 k23, c1 k01, c1 k23] and the same for c2, c3), folded at store:
//   8 accumulators + 2 widened B + 1 A fit V8's 15 XMM registers (6×4 and unrolling k by 2
//   measured slower: spills).
//   relaxed path (7-bit B only, flags bit 0 of the packed B): 4×8 tile, one
//   i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s per 16 MACs, one
//   accumulator per 4 columns. (i32x4.relaxed_dot_i8x16_i7x16_add_s is avoided: wrong in
//   Node 20's baseline tier.) The relaxed dot's i16 pair sums cannot overflow: |a·q| ≤ 128·127.
//   On x64 both paths spend two multiply µops per 16 MACs (extadd is a pmaddwd), so relaxed
//   gains from fewer widening/add instructions, not from the multiplier.
// - M < 4 (and every M on the scalar build): GEMV, one row at a time against one slab
//   (16 columns, one sequential stream), reading the int8 weights and widening them in
//   registers — the product is memory bound, and pre-widened weights would double the bytes.

import { PB_FLAG_I7, packA, pbCorr, pbSlabs, pbZq, roundUp4 } from './gemm_i8_pack';
import { outElemBytes, setEpilogue, storeFour, storeOne } from './gemm_i8_epilogue';

// Per-call constants shared by the microkernels (kernels are not re-entrant).
let zqArr: usize = 0;
let corrArr: usize = 0;
let rowSums: usize = 0;
let rowZps: usize = 0;
const TILE: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline function dotAdd(acc: v128, b: v128, a: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(b, a));
}

// @ts-ignore: decorator
@inline function rdotAdd(acc: v128, a: v128, q: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(a, q)));
  }
  return unreachable();
}

/** [c0a, c0b, c1a, c1b] and [c2a, c2b, c3a, c3b] → [c0, c1, c2, c3]. */
// @ts-ignore: decorator
@inline function foldPairs(lo: v128, hi: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(lo, hi, 0, 2, 4, 6), v128.shuffle<i32>(lo, hi, 1, 3, 5, 7));
}

/** acc = S − zq[n]·rowsum[m] − za[m]·corr[n], then the epilogue. */
// @ts-ignore: decorator
@inline function finish(s: v128, c: usize, m: i32, n0: i32, nv: i32): void {
  if (nv <= 0) return;
  const col = <usize>n0 << 2;
  const row = <usize>m << 2;
  const acc = i32x4.sub(
    i32x4.sub(s, i32x4.mul(v128.load(zqArr + col), v128.load32_splat(rowSums + row))),
    i32x4.mul(v128.load32_splat(rowZps + row), v128.load(corrArr + col)),
  );
  v128.store(TILE, acc);
  storeFour(TILE, c, m, n0, nv);
}

/** Dot path, 4 rows × 4 columns: pa is an i16 A block (32 bytes per k-group), pb one quad. */
function mk4x4_dot(pa: usize, pb: usize, G: i32, c: usize, crs: usize, m0: i32, mv: i32, n0: i32, nv: i32): void {
  let c0l = i32x4.splat(0), c0h = i32x4.splat(0), c1l = i32x4.splat(0), c1h = i32x4.splat(0);
  let c2l = i32x4.splat(0), c2h = i32x4.splat(0), c3l = i32x4.splat(0), c3h = i32x4.splat(0);
  for (let g = 0; g < G; g++) {
    const q = v128.load(pb);
    const bl = i16x8.extend_low_i8x16_s(q);
    const bh = i16x8.extend_high_i8x16_s(q);
    let a = v128.load64_splat(pa, 0); c0l = dotAdd(c0l, bl, a); c0h = dotAdd(c0h, bh, a);
    a = v128.load64_splat(pa, 8); c1l = dotAdd(c1l, bl, a); c1h = dotAdd(c1h, bh, a);
    a = v128.load64_splat(pa, 16); c2l = dotAdd(c2l, bl, a); c2h = dotAdd(c2h, bh, a);
    a = v128.load64_splat(pa, 24); c3l = dotAdd(c3l, bl, a); c3h = dotAdd(c3h, bh, a);
    pa += 32;
    pb += 64;
  }
  finish(foldPairs(c0l, c0h), c, m0, n0, nv);
  if (mv > 1) finish(foldPairs(c1l, c1h), c + crs, m0 + 1, n0, nv);
  if (mv > 2) finish(foldPairs(c2l, c2h), c + 2 * crs, m0 + 2, n0, nv);
  if (mv > 3) finish(foldPairs(c3l, c3h), c + 3 * crs, m0 + 3, n0, nv);
}

/** Relaxed path, 4 rows × 8 columns: pa is an i8 A block (16 bytes per k-group), two quads. */
function mk4x8_relaxed(
  pa: usize, pb: usize, G: i32, c: usize, crs: usize, eb: usize, m0: i32, mv: i32, n0: i32, nv: i32,
): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  for (let g = 0; g < G; g++) {
    const q0 = v128.load(pb, 0);
    const q1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa, 0); c00 = rdotAdd(c00, a, q0); c01 = rdotAdd(c01, a, q1);
    a = v128.load32_splat(pa, 4); c10 = rdotAdd(c10, a, q0); c11 = rdotAdd(c11, a, q1);
    a = v128.load32_splat(pa, 8); c20 = rdotAdd(c20, a, q0); c21 = rdotAdd(c21, a, q1);
    a = v128.load32_splat(pa, 12); c30 = rdotAdd(c30, a, q0); c31 = rdotAdd(c31, a, q1);
    pa += 16;
    pb += 64;
  }
  const c4 = c + 4 * eb;
  const nv1 = nv - 4;
  finish(c00, c, m0, n0, min(4, nv));
  if (nv1 > 0) finish(c01, c4, m0, n0 + 4, nv1);
  if (mv > 1) { finish(c10, c + crs, m0 + 1, n0, min(4, nv)); if (nv1 > 0) finish(c11, c4 + crs, m0 + 1, n0 + 4, nv1); }
  if (mv > 2) { finish(c20, c + 2 * crs, m0 + 2, n0, min(4, nv)); if (nv1 > 0) finish(c21, c4 + 2 * crs, m0 + 2, n0 + 4, nv1); }
  if (mv > 3) { finish(c30, c + 3 * crs, m0 + 3, n0, min(4, nv)); if (nv1 > 0) finish(c31, c4 + 3 * crs, m0 + 3, n0 + 4, nv1); }
}

/** GEMV, dot path: one row (i16, 8 bytes per k-group) × one slab (16 columns). */
function mk1x16_dot(pa: usize, pb: usize, G: i32, c: usize, eb: usize, m: i32, n0: i32, N: i32): void {
  let c0l = i32x4.splat(0), c0h = i32x4.splat(0), c1l = i32x4.splat(0), c1h = i32x4.splat(0);
  let c2l = i32x4.splat(0), c2h = i32x4.splat(0), c3l = i32x4.splat(0), c3h = i32x4.splat(0);
  for (let g = 0; g < G; g++) {
    const a = v128.load64_splat(pa);
    let q = v128.load(pb, 0);
    c0l = dotAdd(c0l, i16x8.extend_low_i8x16_s(q), a); c0h = dotAdd(c0h, i16x8.extend_high_i8x16_s(q), a);
    q = v128.load(pb, 16);
    c1l = dotAdd(c1l, i16x8.extend_low_i8x16_s(q), a); c1h = dotAdd(c1h, i16x8.extend_high_i8x16_s(q), a);
    q = v128.load(pb, 32);
    c2l = dotAdd(c2l, i16x8.extend_low_i8x16_s(q), a); c2h = dotAdd(c2h, i16x8.extend_high_i8x16_s(q), a);
    q = v128.load(pb, 48);
    c3l = dotAdd(c3l, i16x8.extend_low_i8x16_s(q), a); c3h = dotAdd(c3h, i16x8.extend_high_i8x16_s(q), a);
    pa += 8;
    pb += 64;
  }
  finish(foldPairs(c0l, c0h), c, m, n0, min(4, N - n0));
  finish(foldPairs(c1l, c1h), c + 4 * eb, m, n0 + 4, min(4, N - n0 - 4));
  finish(foldPairs(c2l, c2h), c + 8 * eb, m, n0 + 8, min(4, N - n0 - 8));
  finish(foldPairs(c3l, c3h), c + 12 * eb, m, n0 + 12, min(4, N - n0 - 12));
}

/** GEMV, relaxed path: one row (i8, 4 bytes per k-group) × one slab (16 columns). */
function mk1x16_relaxed(pa: usize, pb: usize, G: i32, c: usize, eb: usize, m: i32, n0: i32, N: i32): void {
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  for (let g = 0; g < G; g++) {
    const a = v128.load32_splat(pa);
    c0 = rdotAdd(c0, a, v128.load(pb, 0));
    c1 = rdotAdd(c1, a, v128.load(pb, 16));
    c2 = rdotAdd(c2, a, v128.load(pb, 32));
    c3 = rdotAdd(c3, a, v128.load(pb, 48));
    pa += 4;
    pb += 64;
  }
  finish(c0, c, m, n0, min(4, N - n0));
  finish(c1, c + 4 * eb, m, n0 + 4, min(4, N - n0 - 4));
  finish(c2, c + 8 * eb, m, n0 + 8, min(4, N - n0 - 8));
  finish(c3, c + 12 * eb, m, n0 + 12, min(4, N - n0 - 12));
}

/** Portable tier: one row (i16 A, 8 bytes per k-group) × one quad, plain loops. */
function mk1x4_scalar(pa: usize, pb: usize, G: i32, c: usize, eb: usize, m: i32, n0: i32, nv: i32): void {
  const za = load<i32>(rowZps + (<usize>m << 2));
  const rs = load<i32>(rowSums + (<usize>m << 2));
  for (let j = 0; j < nv; j++) {
    let s = 0;
    const col = pb + (<usize>j << 2);
    for (let g = 0; g < G; g++) {
      const ag = pa + (<usize>g << 3);
      const bg = col + (<usize>g << 6);
      s += <i32>load<i16>(ag) * <i32>load<i8>(bg) + <i32>load<i16>(ag, 2) * <i32>load<i8>(bg, 1)
        + <i32>load<i16>(ag, 4) * <i32>load<i8>(bg, 2) + <i32>load<i16>(ag, 6) * <i32>load<i8>(bg, 3);
    }
    const n = n0 + j;
    s -= load<i32>(zqArr + (<usize>n << 2)) * rs + za * load<i32>(corrArr + (<usize>n << 2));
    storeOne(s, c + <usize>j * eb, m, n);
  }
}

/**
 * C = epilogue(A·B) — see the file header. a: M×K u8/s8 (aSigned) with leading dimension lda;
 * aZp: the zero point(s) in A's type, one value or M when aZpPerRow, 0 for none; bp: from
 * pack_b_i8 for this K×N; c: output with leading dimension ldc elements, element type by the
 * epilogue descriptor epi; scratch: qgemm_i8_scratch_bytes(M, K) bytes, 16-byte aligned.
 * Returns 0, or 1 if the dimensions disagree with bp or the descriptor is malformed.
 */
export function qgemm_i8(
  a: usize, lda: i32, aSigned: i32, aZp: usize, aZpPerRow: i32, bp: usize,
  c: usize, ldc: i32, M: i32, N: i32, K: i32, epi: usize, scratch: usize,
): i32 {
  if (M <= 0 || N <= 0 || K <= 0 || lda < K || ldc < N) return 1;
  if (load<i32>(bp) != K || load<i32>(bp + 4) != N) return 1;
  if (setEpilogue(epi)) return 1;
  const relaxed = ASC_FEATURE_RELAXED_SIMD && (load<i32>(bp + 8) & PB_FLAG_I7) != 0;
  const gemm = ASC_FEATURE_SIMD && M >= 4;
  const R = gemm ? 4 : 1;
  const ew = relaxed ? 1 : 2;
  rowSums = packA(a, lda, aSigned, aZp, aZpPerRow, M, K, R, ew, scratch);
  rowZps = rowSums + (<usize>((M + R - 1) / R * R) << 2);
  zqArr = pbZq(bp);
  corrArr = pbCorr(bp, N);
  const slabs = pbSlabs(bp, N);
  const G = roundUp4(K) >> 2;
  const slabBytes = <usize>G << 6;
  const S = (N + 15) >> 4;
  const eb = <usize>outElemBytes();
  const crs = <usize>ldc * eb;
  const arow = <usize>G * <usize>(R * 4 * ew);
  if (gemm) {
    const step = relaxed ? 2 : 1;
    for (let s = 0; s < S; s++) {
      const slab = slabs + <usize>s * slabBytes;
      for (let j = 0; j < 4; j += step) {
        const n0 = (s << 4) + (j << 2);
        if (n0 >= N) break;
        const nv = min(step << 2, N - n0);
        for (let m0 = 0; m0 < M; m0 += 4) {
          const pa = scratch + <usize>(m0 >> 2) * arow;
          const mv = min(4, M - m0);
          const cp = c + <usize>m0 * crs + <usize>n0 * eb;
          if (relaxed) mk4x8_relaxed(pa, slab + (<usize>j << 4), G, cp, crs, eb, m0, mv, n0, nv);
          else mk4x4_dot(pa, slab + (<usize>j << 4), G, cp, crs, m0, mv, n0, nv);
        }
      }
    }
    return 0;
  }
  for (let m = 0; m < M; m++) {
    const pa = scratch + <usize>m * arow;
    const cm = c + <usize>m * crs;
    for (let s = 0; s < S; s++) {
      const slab = slabs + <usize>s * slabBytes;
      const n0 = s << 4;
      if (ASC_FEATURE_SIMD) {
        if (relaxed) mk1x16_relaxed(pa, slab, G, cm + <usize>n0 * eb, eb, m, n0, N);
        else mk1x16_dot(pa, slab, G, cm + <usize>n0 * eb, eb, m, n0, N);
      } else {
        for (let j = 0; j < 4 && n0 + (j << 2) < N; j++) {
          const nj = n0 + (j << 2);
          mk1x4_scalar(pa, slab + (<usize>j << 4), G, cm + <usize>nj * eb, eb, m, nj, min(4, N - nj));
        }
      }
    }
  }
  return 0;
}

/**
 * Scalar reference on the plain layout: b is K×N (ldb = N) or N×K if transB (ldb = K), zero
 * points as for qgemm_i8/pack_b_i8, c is M×N; same epilogue descriptor. Returns as qgemm_i8.
 */
export function qgemm_i8__ref(
  a: usize, aSigned: i32, aZp: usize, aZpPerRow: i32, b: usize, transB: i32, bSigned: i32, bZp: usize, bZpPerCol: i32,
  c: usize, M: i32, N: i32, K: i32, epi: usize,
): i32 {
  if (M <= 0 || N <= 0 || K <= 0 || setEpilogue(epi)) return 1;
  const eb = <usize>outElemBytes();
  for (let m = 0; m < M; m++) {
    const za = aZp ? ld8(aZp + (aZpPerRow ? <usize>m : 0), aSigned) : 0;
    for (let n = 0; n < N; n++) {
      const zb = bZp ? ld8(bZp + (bZpPerCol ? <usize>n : 0), bSigned) : 0;
      let s = 0;
      for (let k = 0; k < K; k++) {
        const bk = transB ? <usize>n * <usize>K + <usize>k : <usize>k * <usize>N + <usize>n;
        s += (ld8(a + <usize>m * <usize>K + <usize>k, aSigned) - za) * (ld8(b + bk, bSigned) - zb);
      }
      storeOne(s, c + (<usize>m * <usize>N + <usize>n) * eb, m, n);
    }
  }
  return 0;
}

// @ts-ignore: decorator
@inline function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

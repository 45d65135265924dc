// int8 GEMM / GEMV: C[M,N] = epilogue(Σ_k (a[m,k] − a_zp[m]) · (b[k,n] − b_zp[n])), exact in i32.
//
// A is u8 or s8 [M, lda] with a per-tensor or per-row zero point; B is constant u8 or s8 with a
// per-tensor or per-column zero point, packed once by pack_b_i8 in the i8 layout (GEMV), the
// i16 layout (GEMM) or both (layouts: gemm_i8_pack.ts); the epilogue (i32 / requantise /
// dequantise) is a descriptor (gemm_i8_epilogue.ts).
//
// qgemm_i8 packs A into the caller's scratch, with row sums, then:
// - GEMM, when B has i16 panels and M ≥ 4 (or B has no i8 slabs): the 4×8 tile dot4x8_i16
//   (gemm_i8_tile.ts) on A and B both pre-widened to i16 with their zero points subtracted — A
//   per call, B once per session — so the inner loop widens nothing and the tile is the exact
//   sum, stored through the epilogue. Blocked for the caches: a block of rows of A (at most
//   A_BLOCK_BYTES, in L2) meets every 8-column panel of B (Kp·16 bytes, in L1 for K up to
//   about 1500) in turn, each panel serving all the block's 4-row tiles before the next.
// - GEMV otherwise (B with i8 slabs only): one row at a time against one slab (16 columns, one
//   sequential stream), reading the int8 weights as they are — the product is near memory
//   bound, and pre-widened weights would double the bytes. On the relaxed build with 7-bit B
//   (flags bit 0): i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s per 16 MACs
//   on i8 A (i32x4.relaxed_dot_i8x16_i7x16_add_s is avoided: wrong in Node 20's baseline tier;
//   the i16 pair sums cannot overflow: |a·q| ≤ 128·127); with 8-bit B, A split into two nibble
//   rows, each the 7-bit operand of the relaxed dot against the weights (mk1x16_nib: two dots
//   per 16 MACs, no widening; the simd128 way below measured 12–20% slower where the weights
//   are in cache, 1×K×N with K, N ∈ 256…4096, and the same where they stream from DRAM); the
//   simd build widens the weights in registers for i32x4.dot_i16x8_s on i16 A.
//   The scalar build computes both paths with plain loops.

import { PA_NIB, PB_FLAG_I7, PB_I16, PB_I8, packA, packA16, pbCorr, pbLayouts, pbPanels, pbSlabs, pbZq, roundUp4 } from './gemm_i8_pack';
import {
  biasLanes, lanesRequantise, narrowLanes, outElemBytes, requantRegs, rqConst, scaleLanes, setEpilogue, storeEight, storeFour, storeOne,
} from './gemm_i8_epilogue';
import { dot4x8_i16 } from './gemm_i8_tile';

// Per-call constants shared by the microkernels (kernels are not re-entrant).
let zqArr: usize = 0;
let corrArr: usize = 0;
let rowSums: usize = 0;
let rowZps: usize = 0;
const TILE: usize = memory.data(16, 16);
/** The 4×8 tile of the GEMM path, and its one tap (offset 0). */
const GTILE: usize = memory.data(128, 16);
const ONE_TAP: usize = memory.data(4, 4);

/** Rows of A per cache block of the GEMM: about this many bytes of packed A. */
const A_BLOCK_BYTES: i32 = 256 * 1024;

// @ts-ignore: decorator
@inline function dotAdd(acc: v128, b: v128, a: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(b, a));
}

/** [c0a, c0b, c1a, c1b] and [c2a, c2b, c3a, c3b] → [c0, c1, c2, c3]. */
// @ts-ignore: decorator
@inline function foldPairs(lo: v128, hi: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(lo, hi, 0, 2, 4, 6), v128.shuffle<i32>(lo, hi, 1, 3, 5, 7));
}

// @ts-ignore: decorator
@inline function rdotAdd(acc: v128, a: v128, q: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(a, q)));
  }
  return unreachable();
}

// @ts-ignore: decorator
@inline function rdot(q: v128, nibbles: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(q, nibbles);
  return unreachable();
}

/** i32 lanes of lo + 16·hi from the i16 pair sums of the low and high nibble runs. */
// @ts-ignore: decorator
@inline function nibSum(lo: v128, hi: v128): v128 {
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(lo), i32x4.shl(i32x4.extadd_pairwise_i16x8_s(hi), 4));
}

/** Groups per i16 run of mk1x16_nib. */
const NIB_RUN: i32 = 8;

/** acc = S − zq[n]·rowsum[m] − za[m]·corr[n], then the epilogue (uses TILE[0, 16)). */
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

/**
 * GEMV, relaxed path on 8-bit B: one row (nibble rows, 8 bytes per k-group) × one slab, as
 * S = Σ q·lo + 16·Σ q·hi with q_a = 16·hi + lo: i16x8.relaxed_dot_i8x16_i7x16_s(q, nibbles)
 * (the 7-bit operand is a nibble, 0..15) gives i16 pair sums |·| ≤ 2·128·15 = 3840, so runs of
 * NIB_RUN = 8 groups add up in i16 (8·3840 < 2^15) before the pairwise widening to i32.
 */
function mk1x16_nib(pa: usize, pb: usize, G: i32, c: usize, eb: usize, m: i32, n0: i32, N: i32): void {
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  for (let g = 0; g < G;) {
    const gend = min(g + NIB_RUN, G);
    let l0 = i32x4.splat(0), l1 = i32x4.splat(0), l2 = i32x4.splat(0), l3 = i32x4.splat(0);
    let h0 = i32x4.splat(0), h1 = i32x4.splat(0), h2 = i32x4.splat(0), h3 = i32x4.splat(0);
    for (; g < gend; g++) {
      const lo = v128.load32_splat(pa), hi = v128.load32_splat(pa, 4);
      let q = v128.load(pb, 0);
      l0 = i16x8.add(l0, rdot(q, lo)); h0 = i16x8.add(h0, rdot(q, hi));
      q = v128.load(pb, 16);
      l1 = i16x8.add(l1, rdot(q, lo)); h1 = i16x8.add(h1, rdot(q, hi));
      q = v128.load(pb, 32);
      l2 = i16x8.add(l2, rdot(q, lo)); h2 = i16x8.add(h2, rdot(q, hi));
      q = v128.load(pb, 48);
      l3 = i16x8.add(l3, rdot(q, lo)); h3 = i16x8.add(h3, rdot(q, hi));
      pa += 8;
      pb += 64;
    }
    c0 = i32x4.add(c0, nibSum(l0, h0)); c1 = i32x4.add(c1, nibSum(l1, h1));
    c2 = i32x4.add(c2, nibSum(l2, h2)); c3 = i32x4.add(c3, nibSum(l3, h3));
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

/** Stores rows [m0, m0 + mv) × columns [n0, n0 + nv) of the exact 4×8 tile at GTILE through the epilogue. */
function storeTile(c: usize, crs: usize, eb: usize, m0: i32, mv: i32, n0: i32, nv: i32): void {
  for (let r = 0; r < mv; r++) {
    const m = m0 + r;
    const row = GTILE + (<usize>r << 5);
    const cm = c + <usize>r * crs;
    if (ASC_FEATURE_SIMD) {
      if (nv == 8) {
        storeEight(v128.load(row), v128.load(row, 16), cm, m, n0);
      } else {
        storeFour(row, cm, m, n0, min(4, nv));
        if (nv > 4) storeFour(row + 16, cm + 4 * eb, m, n0 + 4, nv - 4);
      }
      continue;
    }
    for (let j = 0; j < nv; j++) storeOne(load<i32>(row + (<usize>j << 2)), cm + <usize>j * eb, m, n0 + j);
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
  const layouts = pbLayouts(bp);
  const gemm = (layouts & PB_I16) != 0 && (M >= 4 || (layouts & PB_I8) == 0);
  const relaxed = ASC_FEATURE_RELAXED_SIMD && !gemm && (load<i32>(bp + 8) & PB_FLAG_I7) != 0;
  const Kp = roundUp4(K);
  const eb = <usize>outElemBytes();
  const crs = <usize>ldc * eb;
  if (gemm) {
    packA16(a, lda, aSigned, aZp, aZpPerRow, M, K, scratch);
    const panels = pbPanels(bp);
    const blockBytes = <usize>Kp << 3;
    const panelBytes = <usize>Kp << 4;
    const rowsPerBlock = max(4, A_BLOCK_BYTES / (Kp << 1) & ~3);
    const lanes = ASC_FEATURE_SIMD && lanesRequantise();
    for (let mb = 0; mb < M; mb += rowsPerBlock) {
      const mEnd = min(M, mb + rowsPerBlock);
      for (let n0 = 0; n0 < N; n0 += 8) {
        const pb = panels + <usize>(n0 >> 3) * panelBytes;
        const nv = min(8, N - n0);
        if (ASC_FEATURE_SIMD && lanes && nv == 8) {
          // Scales and biases of the panel's 8 columns, shared by every row.
          const s0 = scaleLanes(n0), s1 = scaleLanes(n0 + 4), b0 = biasLanes(n0), b1 = biasLanes(n0 + 4);
          for (let m0 = mb; m0 < mEnd; m0 += 4) {
            dot4x8_i16(scratch + <usize>(m0 >> 2) * blockBytes, ONE_TAP, 1, Kp >> 1, 16, pb, GTILE);
            const cm = c + <usize>m0 * crs + <usize>n0;
            const k0 = rqConst(0), k1 = rqConst(1), k2 = rqConst(2), k3 = rqConst(3), k4 = rqConst(4), k5 = rqConst(5);
            for (let r = 0; r < min(4, M - m0); r++) {
              const row = GTILE + (<usize>r << 5);
              const q0 = requantRegs(i32x4.add(v128.load(row), b0), s0, k0, k1, k2, k3, k4, k5);
              const q1 = requantRegs(i32x4.add(v128.load(row, 16), b1), s1, k0, k1, k2, k3, k4, k5);
              v128.store64_lane(cm + <usize>r * crs, narrowLanes(q0, q1, q0, q1), 0);
            }
          }
          continue;
        }
        for (let m0 = mb; m0 < mEnd; m0 += 4) {
          dot4x8_i16(scratch + <usize>(m0 >> 2) * blockBytes, ONE_TAP, 1, Kp >> 1, 16, pb, GTILE);
          storeTile(c + <usize>m0 * crs + <usize>n0 * eb, crs, eb, m0, min(4, M - m0), n0, nv);
        }
      }
    }
    return 0;
  }
  if ((layouts & PB_I8) == 0) return 1;
  const ew = relaxed ? 1 : ASC_FEATURE_RELAXED_SIMD ? PA_NIB : 2;
  rowSums = packA(a, lda, aSigned, aZp, aZpPerRow, M, K, ew, scratch);
  rowZps = rowSums + (<usize>M << 2);
  zqArr = pbZq(bp);
  corrArr = pbCorr(bp, N);
  const slabs = pbSlabs(bp, N);
  const G = Kp >> 2;
  const slabBytes = <usize>G << 6;
  const S = (N + 15) >> 4;
  const arow = <usize>Kp * <usize>min(ew, 2);
  for (let m = 0; m < M; m++) {
    const pa = scratch + <usize>m * arow;
    const cm = c + <usize>m * crs;
    for (let s = 0; s < S; s++) {
      const slab = slabs + <usize>s * slabBytes;
      const n0 = s << 4;
      if (ASC_FEATURE_SIMD) {
        if (relaxed) mk1x16_relaxed(pa, slab, G, cm + <usize>n0 * eb, eb, m, n0, N);
        else if (ASC_FEATURE_RELAXED_SIMD) mk1x16_nib(pa, slab, G, cm + <usize>n0 * eb, eb, m, n0, N);
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

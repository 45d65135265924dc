// Ternary weights ({−1, 0, +1}) × 8-bit activations, exact integer accumulation.
//
//   tgemm_t2i8(a, lda, aSigned, w, rowc, c, M, N, K, ldc, epi, scratch) → 0, or 1 on a bad size / epilogue
//     a     u8 or s8 (aSigned) M×K row-major, leading dimension lda bytes
//     w     N ternary rows of K elements (ternary_pack.ts; weights B as N×K = "transB")
//     rowc  i32 [N] added to column n's dot, or 0: the bias and zero-point term (ternary_rowc)
//     c     M×N row-major, leading dimension ldc elements of the epilogue's type
//     epi   gemm_i8_epilogue.ts descriptor (i32, requantise to u8/s8, or f32), index (m, n)
//     scratch  tgemm_t2i8_scratch_bytes(M, K) bytes (row blocks' activations packed for the tile)
//   acc[m, n] = Σ_k a'[m, k]·w[n, k] + rowc[n], a' = a (s8) or a − 128 (u8: the sign bit
//   flipped), in wrapping i32; the dot itself is exact (|Σ a'·w| ≤ 128·K < 2^31 for K < 2^24).
//   A GEMV row (M < 4, and the rows past the last quad) of u8 is flipped to a' in place for the
//   tile and flipped back before the call returns: A must not overlap c (it never may), and it
//   reads back unchanged.
//   tgemm_t2i8__ref(a, lda, aSigned, aZp, w, bias, c, M, N, K, ldc, epi): w plain int8 N×K,
//     acc = Σ_k (a − a_zp)·w + bias[n] (aZp, bias: addresses or 0) — it never reads a packed row.
//   ternary_rowc(sums, N, aZp, aSigned, bias, dst): dst[n] = bias[n] − zq·sums[n] with zq =
//     a_zp − (aSigned ? 0 : 128), so that Σ (a − a_zp)·w + bias = Σ a'·w + rowc exactly (mod 2^32).
//
// The dot products of the tiles: tgemm_t2i8_tile.ts.
//
// The same core serves the ternary convolution (tconv_t2i8.ts), whose rows are output
// positions and columns output channels: the output strides and the channel offset are state.

import { ternaryCode, ternaryRow } from './ternary_pack';
import { outElemBytes, setEpilogue, storeFour, storeFourShared, storeOne } from './gemm_i8_epilogue';
import {
  APACK_GROUPS, BLOCK_QUADS, DOTS, RUN_GROUPS, TOTALS, dotsOfTotals, flipSigns, ldA, mk1x4, mk4x2, mk4x2Rows, packQuad, rowSum,
  setActivationFlip, unpackRun,
} from './tgemm_t2i8_tile';

/** Σ a' over the SIMD part of the rows of the current row block. */
const ROW_SUMS: usize = memory.data(BLOCK_QUADS << 4, 16);
/** Four accumulators handed to the vector stores of the epilogue. */
const TILE: usize = memory.data(16, 16);
/** The 4×4 accumulators of each quad of gemmBlock, row-major. */
const ACC: usize = memory.data(BLOCK_QUADS << 6, 16);

// The current call (kernels are not re-entrant): where the tile goes.
let outC: usize = 0;
let outRs: usize = 0; // elements between rows
let outCs: usize = 0; // elements between columns
let eb: usize = 4;
let ch0: i32 = 0; // epilogue channel of column 0
let rowIdx: bool = true; // epilogue index (m, n); the convolution uses (0, channel)
let rowc: usize = 0;
let aU8: bool = false; // activations u8 (the tiles flip their sign bit), else s8
let apack: usize = 0; // the caller's scratch for packed row blocks (tgemm_t2i8_scratch_bytes)
let apackGroups: i32 = 0; // groups of 16 it holds

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

/**
 * One activation row against all N channels, a quad of the packed layout at a time: mk1x4 reads
 * a quad's 4 rows through one pointer. A quad may reach past [ch0, ch0 + N) (the convolution's
 * group starts mid-quad, or the padding rows of the last quad): those lanes are computed from
 * rows that exist and dropped.
 */
function gemvRow(ar: usize, w: usize, m: i32, N: i32, K: i32): void {
  const K16 = ASC_FEATURE_SIMD ? K & ~15 : 0;
  let corr = 0;
  if (ASC_FEATURE_SIMD) {
    if (K16) corr = rowSum(ar, K16);
    if (K16 && aU8) flipSigns(ar, K16); // a' in place for mk1x4, restored below
  }
  for (let q = ch0 & ~3; q < ch0 + N; q += 4) {
    const n0 = q - ch0; // the quad's first lane as a column (negative when the group starts mid-quad)
    const lo = max(0, n0), hi = min(N, n0 + 4);
    if (ASC_FEATURE_SIMD) {
      if (K16) mk1x4(ar, ternaryRow(w, q, K), K16 >> 4);
      if (n0 >= 0 && hi - n0 == 4 && K16 == K && outCs == 1) { // no tail: the 4 dots as one vector
        let v = i32x4.sub(v128.load(DOTS), i32x4.splat(corr));
        if (rowc) v = i32x4.add(v, v128.load(rowc + (<usize>n0 << 2)));
        v128.store(TILE, v);
        storeFour(TILE, outAt(m, n0), rowIdx ? m : 0, ch0 + n0, 4);
        continue;
      }
    }
    for (let n = lo; n < hi; n++) {
      const simd = K16 ? load<i32>(DOTS + (<usize>(n - n0) << 2)) - corr : 0;
      const acc = withRowc(n, simd + tailDot(ar, ternaryRow(w, ch0 + n, K), K16, K));
      if (ASC_FEATURE_SIMD && n0 >= 0 && hi - n0 == 4 && outCs == 1) store<i32>(TILE + (<usize>(n - n0) << 2), acc);
      else storeAcc(m, n, acc);
    }
    if (ASC_FEATURE_SIMD) {
      if (n0 >= 0 && hi - n0 == 4 && outCs == 1) storeFour(TILE, outAt(m, n0), rowIdx ? m : 0, ch0 + n0, 4);
    }
  }
  if (ASC_FEATURE_SIMD) {
    if (K16 && aU8) flipSigns(ar, K16);
  }
}

/**
 * Rows [m, m + 4·nq) (nq ≤ BLOCK_QUADS quads) against all N channels, 4 at a time by 4×2 tiles
 * (simd builds). Per channel pair and run of groups, the codes are unpacked once for the block's
 * quads: 0.84–0.91× the time of a quad at a time over M×K×N = 16–512 × 256–4096 × 256–4096
 * (1.05× on a lone quad, 4×1024×1024) with 4 quads a block; 16 quads (64 rows, the weights
 * streamed a quarter as often): 0.94–0.98× of 4 over 32–256 × 768–4096 × 1024–4096 (8: 0.96–1.03×,
 * 32: 0.93–1.16×).
 */
function gemmBlock(a0: usize, la: usize, w: usize, m: i32, nq: i32, N: i32, K: i32): void {
  const K16 = K & ~15, G = K16 >> 4;
  for (let r = 0; r < nq << 2; r++) store<i32>(ROW_SUMS + (<usize>r << 2), rowSum(a0 + <usize>r * la, K16));
  // The block's rows as a': packed whole (the sign flipped for u8), or past the packing space read
  // in place (u8 rows flipped in place, and back at the end: A reads back unchanged).
  const whole = nq * G <= apackGroups;
  for (let q = 0; q < nq; q++) {
    const aq = a0 + <usize>(q << 2) * la;
    if (whole) packQuad(aq, la, 0, G, apack + (<usize>(q * G) << 6));
    else if (aU8) for (let r: usize = 0; r < 4; r++) flipSigns(aq + r * la, K16);
  }
  for (let n = 0; n < N; n += 4) {
    const nv = min(4, N - n);
    for (let h = 0; h < nv; h += 2) {
      const w0 = ternaryRow(w, ch0 + n + h, K);
      const w1 = nv > h + 1 ? ternaryRow(w, ch0 + n + h + 1, K) : w0;
      for (let g = 0; g < G; g += RUN_GROUPS) {
        const gn = min(RUN_GROUPS, G - g);
        unpackRun(w0, w1, g, gn);
        for (let q = 0; q < nq; q++) {
          const tot = TOTALS + (<usize>q << 7);
          if (whole) mk4x2(apack + (<usize>(q * G + g) << 6), gn, tot, g == 0);
          else mk4x2Rows(a0 + <usize>(q << 2) * la + (<usize>g << 4), la, gn, tot, g == 0);
        }
      }
      // Σ − row sums + rowc, lanes (row, column) 00 01 10 11 | 20 21 30 31, into the quad's ACC
      // columns h, h + 1 (column h + 1 of an odd nv duplicates column h and is not stored).
      let rc = i32x4.splat(0);
      if (rowc) {
        const at = rowc + (<usize>(n + h) << 2);
        rc = nv > h + 1 ? v128.load64_splat(at) : v128.load32_splat(at);
      }
      for (let q = 0; q < nq; q++) {
        dotsOfTotals(TOTALS + (<usize>q << 7));
        const rs = v128.load(ROW_SUMS + (<usize>q << 4));
        const d01 = i32x4.add(i32x4.sub(v128.load(DOTS), i32x4.shuffle(rs, rs, 0, 0, 1, 1)), rc);
        const d23 = i32x4.add(i32x4.sub(v128.load(DOTS, 16), i32x4.shuffle(rs, rs, 2, 2, 3, 3)), rc);
        const at = ACC + (<usize>q << 6) + (<usize>h << 2);
        v128.store64_lane(at, d01, 0); v128.store64_lane(at, d01, 1, 16);
        v128.store64_lane(at, d23, 0, 32); v128.store64_lane(at, d23, 1, 48);
      }
    }
    for (let q = 0; q < nq; q++) storeQuad(a0 + <usize>(q << 2) * la, la, w, m + (q << 2), n, nv, K, ACC + (<usize>q << 6));
  }
  if (!whole && aU8) for (let r = 0; r < nq << 2; r++) flipSigns(a0 + <usize>r * la, K16);
}

/** Adds the scalar tails to the quad's 4×nv accumulators at acc (row-major 4×4) and stores them. */
function storeQuad(a0: usize, la: usize, w: usize, m: i32, n: i32, nv: i32, K: i32, acc: usize): void {
  const K16 = K & ~15;
  if (K16 < K) {
    for (let j = 0; j < nv; j++) {
      const wr = ternaryRow(w, ch0 + n + j, K);
      for (let i = 0; i < 4; i++) {
        const at = acc + (<usize>(4 * i + j) << 2);
        store<i32>(at, load<i32>(at) + tailDot(a0 + <usize>i * la, wr, K16, K));
      }
    }
  }
  if (outCs == 1 && nv == 4) {
    for (let i = 0; i < 4; i++) storeFour(acc + (<usize>i << 4), outAt(m + i, n), rowIdx ? m + i : 0, ch0 + n, 4);
  } else if (outRs == 1) {
    for (let j = 0; j < nv; j++) {
      for (let i = 0; i < 4; i++) store<i32>(TILE + (<usize>i << 2), load<i32>(acc + (<usize>(4 * i + j) << 2)));
      storeFourShared(TILE, outAt(m, n + j), 0, ch0 + n + j, 4);
    }
  } else {
    for (let i = 0; i < 4; i++) for (let j = 0; j < nv; j++) storeAcc(m + i, n + j, load<i32>(acc + (<usize>(4 * i + j) << 2)));
  }
}

/** Groups of 16 the row blocks of an M×K product pack (see APACK_GROUPS; 0 when none is packed). */
function packGroups(M: i32, K: i32): i32 {
  return M >= 4 && K >= 16 ? min(APACK_GROUPS, min(BLOCK_QUADS, M >> 2) * (K >> 4)) : 0;
}

/** Scratch bytes of tgemm_t2i8 (and of tgemmCore's `pack`) for M rows of K elements. */
export function tgemm_t2i8_scratch_bytes(M: i32, K: i32): i32 {
  return packGroups(M, K) << 6;
}

/**
 * The product of rows a (lda bytes apart, flip: 0x80 for u8, 0 for s8) with the N ternary rows
 * channel … channel + N − 1 of w, plus rowc, through the epilogue already set: element (m, n)
 * stored at c + (m·rs + n·cs) elements, epilogue index (rowIndexed ? m : 0, channel + n). pack:
 * tgemm_t2i8_scratch_bytes(M, K) bytes where row blocks are packed.
 */
export function tgemmCore(
  a: usize, lda: i32, aFlip: u8, w: usize, rc: usize, M: i32, N: i32, K: i32,
  c: usize, rs: i32, cs: i32, channel: i32, rowIndexed: bool, pack: usize,
): void {
  apack = pack;
  apackGroups = packGroups(M, K);
  setActivationFlip(aFlip);
  aU8 = aFlip != 0;
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
    if (K >= 16) {
      const G = K >> 4;
      while (m + 4 <= M) {
        let nq = min(BLOCK_QUADS, (M - m) >> 2);
        if (nq * G > apackGroups && G <= apackGroups) nq = apackGroups / G; // fewer quads, packed whole
        gemmBlock(a + <usize>m * la, la, w, m, nq, N, K);
        m += nq << 2;
      }
    }
  }
  for (; m < M; m++) gemvRow(a + <usize>m * la, w, m, N, K);
}

function badSizes(M: i32, N: i32, K: i32, epi: usize): bool {
  return M < 0 || N < 0 || K < 0 || K >= 1 << 24 || setEpilogue(epi) != 0;
}

/** Ternary weights × u8/s8 activations (see the top of this file). */
export function tgemm_t2i8(a: usize, lda: i32, aSigned: i32, w: usize, rc: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize, scratch: usize): i32 {
  if (badSizes(M, N, K, epi)) return 1;
  tgemmCore(a, lda, aSigned ? 0 : 0x80, w, rc, M, N, K, c, ldc, 1, 0, true, scratch);
  return 0;
}

/** Σ_k w[n, k] of N packed ternary rows of K elements, into dst[n] (i32). */
export function ternary_row_sums(w: usize, N: i32, K: i32, dst: usize): void {
  for (let n = 0; n < N; n++) {
    let s = 0;
    const row = ternaryRow(w, n, K);
    for (let k = 0; k < K; k++) s += ternaryCode(row, k) - 1;
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

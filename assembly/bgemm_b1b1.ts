// Binary GEMM / GEMV (XNOR-popcount): C[m, n] = epilogue(Σ_k A[m, k]·B[n, k]) over ±1 values.
//
//   bgemm_b1b1(a, b, c, M, N, K, ldc, epi) → 0, or 1 on a bad epilogue descriptor / size
//     a    M bit rows of K elements (activations, packed per call by pack_signs_f32)
//     b    N bit rows of K elements (weights, packed once per session; B is N×K = "transB")
//     c    kind I32/F32: M×N row-major, leading dimension ldc elements;
//          kind SIGN: M bit rows of N elements (the next layer's `a`), padding bits zeroed
//     epi  binary epilogue descriptor (bgemm_epilogue.ts); output channel = n
//   bgemm_b1b1__ref: the same on the plain layout — a, b int8 ±1 (M×K, N×K), SIGN output as
//     int8 ±1 (M×N, ldc); it never reads a bit row.
//
// The maths: with a set bit meaning −1, a·w = +1 where the bits agree and −1 where they differ,
// so over the K real elements Σ a·w = K − 2·popcount(a xor w). Only real bits are counted: the
// last 128-bit block of every row is ANDed with a mask of its K − 128·(KB−1) real bits, so the
// padding may hold anything. The binary conv also passes a per-row mask of its valid taps and
// a per-row count of them ("valid"): dot = valid − 2·popcount((a xor w) and mask).
//
// Inner loop (simd128): per 128-bit block, v128.xor + i8x16.popcnt into u8 lane counters (≤ 8
// per block, so 31 blocks fit in a u8), widened every 31 blocks by two pairwise extadds into i32
// lanes. The relaxed build counts with a nibble table through i8x16.relaxed_swizzle (pshufb
// without the index clamp): measured 1.2–1.3× i8x16.popcnt there; with the clamping
// i8x16.swizzle the table is no faster than i8x16.popcnt, so simd128 keeps popcnt.
// Tiles: 2 rows × 4 columns (8 counters + 2 activation vectors + 1 weight vector + popcount
// temporaries fit in x64's 15 vector registers); the 4 column sums of a row come out of one
// transposed reduction as a vector, so the epilogue runs 4 columns at a time. A lone row
// (GEMV, odd M) uses 1 × 4. Rows are walked in quads so each group of 4 weight rows is read
// from cache once per quad. Exact for K < 2^31.

import { bit_row_bytes } from './bitpack';
import { BEPI_SIGN, epilogueKind, setBinaryEpilogue, signIsNegative, storeDot, storeDots4 } from './bgemm_epilogue';

/** Tile results of the microkernels: popcount[row][col], 4 × 4 i32. */
const POPS: usize = memory.data(64, 16);
/** The mask of the real bits of the last 128-bit block of a row. */
const TAIL: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline function popc8(x: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const nib = i8x16.splat(15);
    const table = i8x16(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    return i8x16.add(
      i8x16.relaxed_swizzle(table, v128.and(x, nib)),
      i8x16.relaxed_swizzle(table, v128.and(i16x8.shr_u(x, 4), nib)),
    );
  }
  return i8x16.popcnt(x);
}

/** u8 lane counters → i32 lanes (each the sum of 4 counters). */
// @ts-ignore: decorator
@inline function widen(p: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(p));
}

// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** Blocks per u8 counter run: 31 · 8 = 248 ≤ 255. */
const RUN: i32 = 31;

/** [Σ lanes of s0, Σ s1, Σ s2, Σ s3] (a transposed reduction: 6 shuffles, 3 adds). */
// @ts-ignore: decorator
@inline function reduce4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(s0, s1, 0, 4, 1, 5), v128.shuffle<i32>(s0, s1, 2, 6, 3, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(s2, s3, 0, 4, 1, 5), v128.shuffle<i32>(s2, s3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
}

/**
 * 2 rows × 4 columns over `full` whole blocks, then (if `tail`) one more block masked by TAIL.
 * Writes the popcounts of row i, columns 0..3 to POPS row i.
 */
function mk2x4(a0: usize, a1: usize, b0: usize, b1: usize, b2: usize, b3: usize, full: i32, tail: bool): void {
  let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
  let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
  let kb = 0;
  while (kb < full) {
    const end = min(kb + RUN, full);
    let p00 = i32x4.splat(0), p01 = i32x4.splat(0), p02 = i32x4.splat(0), p03 = i32x4.splat(0);
    let p10 = i32x4.splat(0), p11 = i32x4.splat(0), p12 = i32x4.splat(0), p13 = i32x4.splat(0);
    for (; kb < end; kb++) {
      const off = <usize>kb << 4;
      const x0 = v128.load(a0 + off);
      const x1 = v128.load(a1 + off);
      let y = v128.load(b0 + off);
      p00 = i8x16.add(p00, popc8(v128.xor(x0, y)));
      p10 = i8x16.add(p10, popc8(v128.xor(x1, y)));
      y = v128.load(b1 + off);
      p01 = i8x16.add(p01, popc8(v128.xor(x0, y)));
      p11 = i8x16.add(p11, popc8(v128.xor(x1, y)));
      y = v128.load(b2 + off);
      p02 = i8x16.add(p02, popc8(v128.xor(x0, y)));
      p12 = i8x16.add(p12, popc8(v128.xor(x1, y)));
      y = v128.load(b3 + off);
      p03 = i8x16.add(p03, popc8(v128.xor(x0, y)));
      p13 = i8x16.add(p13, popc8(v128.xor(x1, y)));
    }
    s00 = i32x4.add(s00, widen(p00)); s01 = i32x4.add(s01, widen(p01));
    s02 = i32x4.add(s02, widen(p02)); s03 = i32x4.add(s03, widen(p03));
    s10 = i32x4.add(s10, widen(p10)); s11 = i32x4.add(s11, widen(p11));
    s12 = i32x4.add(s12, widen(p12)); s13 = i32x4.add(s13, widen(p13));
  }
  if (tail) {
    const off = <usize>full << 4;
    const t = v128.load(TAIL);
    const x0 = v128.and(v128.load(a0 + off), t);
    const x1 = v128.and(v128.load(a1 + off), t);
    let y = v128.and(v128.load(b0 + off), t);
    s00 = i32x4.add(s00, widen(popc8(v128.xor(x0, y)))); s10 = i32x4.add(s10, widen(popc8(v128.xor(x1, y))));
    y = v128.and(v128.load(b1 + off), t);
    s01 = i32x4.add(s01, widen(popc8(v128.xor(x0, y)))); s11 = i32x4.add(s11, widen(popc8(v128.xor(x1, y))));
    y = v128.and(v128.load(b2 + off), t);
    s02 = i32x4.add(s02, widen(popc8(v128.xor(x0, y)))); s12 = i32x4.add(s12, widen(popc8(v128.xor(x1, y))));
    y = v128.and(v128.load(b3 + off), t);
    s03 = i32x4.add(s03, widen(popc8(v128.xor(x0, y)))); s13 = i32x4.add(s13, widen(popc8(v128.xor(x1, y))));
  }
  v128.store(POPS, reduce4(s00, s01, s02, s03));
  v128.store(POPS, reduce4(s10, s11, s12, s13), 16);
}

/** 2 rows × 4 columns over KB blocks, every block of row i ANDed with its mask row mi. */
function mk2x4_masked(a0: usize, a1: usize, m0: usize, m1: usize, b0: usize, b1: usize, b2: usize, b3: usize, KB: i32): void {
  let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
  let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
  let kb = 0;
  while (kb < KB) {
    const end = min(kb + RUN, KB);
    let p00 = i32x4.splat(0), p01 = i32x4.splat(0), p02 = i32x4.splat(0), p03 = i32x4.splat(0);
    let p10 = i32x4.splat(0), p11 = i32x4.splat(0), p12 = i32x4.splat(0), p13 = i32x4.splat(0);
    for (; kb < end; kb++) {
      const off = <usize>kb << 4;
      const x0 = v128.load(a0 + off);
      const x1 = v128.load(a1 + off);
      const k0 = v128.load(m0 + off);
      const k1 = v128.load(m1 + off);
      let y = v128.load(b0 + off);
      p00 = i8x16.add(p00, popc8(v128.and(v128.xor(x0, y), k0)));
      p10 = i8x16.add(p10, popc8(v128.and(v128.xor(x1, y), k1)));
      y = v128.load(b1 + off);
      p01 = i8x16.add(p01, popc8(v128.and(v128.xor(x0, y), k0)));
      p11 = i8x16.add(p11, popc8(v128.and(v128.xor(x1, y), k1)));
      y = v128.load(b2 + off);
      p02 = i8x16.add(p02, popc8(v128.and(v128.xor(x0, y), k0)));
      p12 = i8x16.add(p12, popc8(v128.and(v128.xor(x1, y), k1)));
      y = v128.load(b3 + off);
      p03 = i8x16.add(p03, popc8(v128.and(v128.xor(x0, y), k0)));
      p13 = i8x16.add(p13, popc8(v128.and(v128.xor(x1, y), k1)));
    }
    s00 = i32x4.add(s00, widen(p00)); s01 = i32x4.add(s01, widen(p01));
    s02 = i32x4.add(s02, widen(p02)); s03 = i32x4.add(s03, widen(p03));
    s10 = i32x4.add(s10, widen(p10)); s11 = i32x4.add(s11, widen(p11));
    s12 = i32x4.add(s12, widen(p12)); s13 = i32x4.add(s13, widen(p13));
  }
  v128.store(POPS, reduce4(s00, s01, s02, s03));
  v128.store(POPS, reduce4(s10, s11, s12, s13), 16);
}

/** 1 row × 4 columns (GEMV), blocks as mk2x4; popcounts to POPS row 0. */
function mk1x4(a0: usize, b0: usize, b1: usize, b2: usize, b3: usize, full: i32, tail: bool): void {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  let kb = 0;
  while (kb < full) {
    const end = min(kb + RUN, full);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (; kb < end; kb++) {
      const off = <usize>kb << 4;
      const x = v128.load(a0 + off);
      p0 = i8x16.add(p0, popc8(v128.xor(x, v128.load(b0 + off))));
      p1 = i8x16.add(p1, popc8(v128.xor(x, v128.load(b1 + off))));
      p2 = i8x16.add(p2, popc8(v128.xor(x, v128.load(b2 + off))));
      p3 = i8x16.add(p3, popc8(v128.xor(x, v128.load(b3 + off))));
    }
    s0 = i32x4.add(s0, widen(p0)); s1 = i32x4.add(s1, widen(p1));
    s2 = i32x4.add(s2, widen(p2)); s3 = i32x4.add(s3, widen(p3));
  }
  if (tail) {
    const off = <usize>full << 4;
    const t = v128.load(TAIL);
    const x = v128.and(v128.load(a0 + off), t);
    s0 = i32x4.add(s0, widen(popc8(v128.xor(x, v128.and(v128.load(b0 + off), t)))));
    s1 = i32x4.add(s1, widen(popc8(v128.xor(x, v128.and(v128.load(b1 + off), t)))));
    s2 = i32x4.add(s2, widen(popc8(v128.xor(x, v128.and(v128.load(b2 + off), t)))));
    s3 = i32x4.add(s3, widen(popc8(v128.xor(x, v128.and(v128.load(b3 + off), t)))));
  }
  v128.store(POPS, reduce4(s0, s1, s2, s3));
}

/** popcount((a xor b) [and m]) over the K real bits of two bit rows, scalar (u64 words). */
function popRow(a: usize, b: usize, m: usize, K: i32): i32 {
  let pop: i64 = 0;
  const words = K >> 6;
  for (let w = 0; w < words; w++) {
    const off = <usize>w << 3;
    let x = load<u64>(a + off) ^ load<u64>(b + off);
    if (m) x &= load<u64>(m + off);
    pop += popcnt(x);
  }
  const rem = K & 63;
  if (rem) {
    const off = <usize>words << 3;
    let x = (load<u64>(a + off) ^ load<u64>(b + off)) & ((<u64>1 << rem) - 1);
    if (m) x &= load<u64>(m + off);
    pop += popcnt(x);
  }
  return <i32>pop;
}

/**
 * The shared driver: dots of M bit rows of `a` (stride lda bytes) against N bit rows of `b`
 * (stride ldb bytes), stored through the current epilogue (storeDot addressing) with output
 * channel ch0 + n. mask (stride lda) and valid (i32 per row) are both 0, or both given: then
 * row r counts only the bits set in its mask row and dot = valid[r] − 2·popcount.
 */
export function bgemmCore(
  a: usize, lda: i32, mask: usize, valid: usize, b: usize, ldb: i32, M: i32, N: i32, K: i32,
  c: usize, crs: i32, ccs: i32, cbit: i32, ch0: i32,
): void {
  if (K == 0) {
    for (let r = 0; r < M; r++) for (let n = 0; n < N; n++) storeDot(c, crs, ccs, cbit, r, n, ch0 + n, 0);
    return;
  }
  const la = <usize>lda, lb = <usize>ldb;
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < M; r++) {
      const ar = a + <usize>r * la;
      const mr = mask ? mask + <usize>r * la : 0;
      const v = valid ? load<i32>(valid + (<usize>r << 2)) : K;
      for (let n = 0; n < N; n++) {
        storeDot(c, crs, ccs, cbit, r, n, ch0 + n, v - 2 * popRow(ar, b + <usize>n * lb, mr, K));
      }
    }
    return;
  }
  const KB = (K + 127) >> 7;
  const tailBits = K - ((KB - 1) << 7);
  for (let j = 0; j < 4; j++) {
    const bits = min(32, max(0, tailBits - 32 * j));
    store<u32>(TAIL + (<usize>j << 2), bits == 32 ? 0xffffffff : (<u32>1 << bits) - 1);
  }
  // A last block without padding needs no mask: count it with the whole ones.
  const tail = tailBits < 128;
  const full = tail ? KB - 1 : KB;
  // Quads of rows share each group of 4 weight rows (read from cache once per quad); within a
  // quad, pairs of rows whose taps are all valid take the unmasked microkernel.
  for (let r0 = 0; r0 < M; r0 += 4) {
    const mv = min(4, M - r0);
    for (let n0 = 0; n0 < N; n0 += 4) {
      const nv = min(4, N - n0);
      const b0 = b + <usize>n0 * lb;
      const b1 = nv > 1 ? b0 + lb : b0;
      const b2 = nv > 2 ? b0 + 2 * lb : b0;
      const b3 = nv > 3 ? b0 + 3 * lb : b0;
      for (let i = 0; i < mv; i += 2) {
        const r = r0 + i;
        const two = i + 1 < mv;
        const ai = a + <usize>r * la;
        const v0 = valid ? load<i32>(valid + (<usize>r << 2)) : K;
        const v1 = valid && two ? load<i32>(valid + (<usize>(r + 1) << 2)) : K;
        if (v0 != K || v1 != K) {
          const mi = mask + <usize>r * la;
          mk2x4_masked(ai, two ? ai + la : ai, mi, two ? mi + la : mi, b0, b1, b2, b3, KB);
        } else if (two) {
          mk2x4(ai, ai + la, b0, b1, b2, b3, full, tail);
        } else {
          mk1x4(ai, b0, b1, b2, b3, full, tail);
        }
        storeTile(c, crs, ccs, cbit, r, two ? 2 : 1, n0, nv, ch0, v0, v1);
      }
    }
  }
}

/** Stores the popcounts in POPS (rows × nv, row-major by 4) as dots valid − 2·pop. */
// @ts-ignore: decorator
@inline function storeTile(c: usize, crs: i32, ccs: i32, cbit: i32, r: i32, rows: i32, n0: i32, nv: i32, ch0: i32, v0: i32, v1: i32): void {
  for (let i = 0; i < rows; i++) {
    const v = i ? v1 : v0;
    if (nv == 4) {
      const dots = i32x4.sub(i32x4.splat(v), i32x4.shl(v128.load(POPS + (<usize>i << 4)), 1));
      storeDots4(c, crs, ccs, cbit, r + i, n0, ch0 + n0, dots);
    } else {
      for (let j = 0; j < nv; j++) {
        const pop = load<i32>(POPS + (<usize>(i * 4 + j) << 2));
        storeDot(c, crs, ccs, cbit, r + i, n0 + j, ch0 + n0 + j, v - 2 * pop);
      }
    }
  }
}

/** Zeroes the padding bits past `used` of `rows` bit rows of `rowBytes` (stride rowBytes). */
export function clearRowPadding(c: usize, rows: i32, rowBytes: i32, used: i32): void {
  if (used >= rowBytes << 3) return;
  for (let r = 0; r < rows; r++) {
    const row = c + <usize>r * <usize>rowBytes;
    const w = used >> 5;
    if (used & 31) {
      const p = row + (<usize>w << 2);
      store<u32>(p, load<u32>(p) & ((<u32>1 << (used & 31)) - 1));
      memory.fill(p + 4, 0, <usize>(rowBytes - ((w + 1) << 2)));
    } else {
      memory.fill(row + (<usize>w << 2), 0, <usize>(rowBytes - (w << 2)));
    }
  }
}

/** Binary GEMM on bit rows (see the top of this file). */
export function bgemm_b1b1(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (M < 0 || N < 0 || K < 0 || setBinaryEpilogue(epi) != 0) return 1;
  const rb = bit_row_bytes(K);
  if (epilogueKind() == BEPI_SIGN) {
    const ob = bit_row_bytes(N);
    clearRowPadding(c, M, ob, N);
    bgemmCore(a, rb, 0, 0, b, rb, M, N, K, c, ob, 0, 0, 0);
  } else {
    bgemmCore(a, rb, 0, 0, b, rb, M, N, K, c, ldc, 1, 0, 0);
  }
  return 0;
}

/** Reference on the plain layout: a, b int8 ±1 (M×K, N×K); SIGN output int8 ±1 (M×N, ldc). */
export function bgemm_b1b1__ref(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (M < 0 || N < 0 || K < 0 || setBinaryEpilogue(epi) != 0) return 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let k = 0; k < K; k++) {
        dot += <i32>load<i8>(a + <usize>m * <usize>K + <usize>k) * <i32>load<i8>(b + <usize>n * <usize>K + <usize>k);
      }
      storePlain(c, ldc, m, n, n, dot);
    }
  }
  return 0;
}

/** Stores a dot at (r, n) of a plain row-major output (ldc): i32, f32, or int8 ±1 for SIGN. */
export function storePlain(c: usize, ldc: i32, r: i32, n: i32, ch: i32, dot: i32): void {
  if (epilogueKind() == BEPI_SIGN) {
    store<i8>(c + <usize>r * <usize>ldc + <usize>n, signIsNegative(dot, ch) ? -1 : 1);
  } else {
    storeDot(c, ldc, 1, 0, r, n, ch, dot);
  }
}

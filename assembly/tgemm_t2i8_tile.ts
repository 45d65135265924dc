// The dot-product tiles of the ternary GEMM (tgemm_t2i8.ts): Σ a'·c over whole groups of 16
// elements, where a' are 8-bit activations read as s8 (u8 with the sign bit flipped) and c the
// codes w + 1 of packed ternary rows (ternary_pack.ts). The vector tiles run on the simd builds;
// ldA (the activation as s8) serves the scalar tails and the scalar build too.
//
// Inner loop on the codes c = w + 1 ∈ {0, 1, 2} of 16 consecutive elements
// (ternary_pack.ts: `and 3` of a packed block, or an i16 shift by 2i then `and 3`, constant i):
// Σ a'·w = Σ a'·c − Σ a', with Σ a' of the row computed once per row.
//   relaxed: i16x8.relaxed_dot_i8x16_i7x16_s(a', c) — c is the 7-bit operand (0..127, so the
//     result is deterministic); not relaxed_dot_add (Node 20's baseline tier gets it wrong).
//     An i16 lane gains two products a'·c ∈ [−256, 254] per 16 elements, so a run of 64 groups
//     stays in [−32768, 32512] and cannot overflow; runs are RUN_GROUPS = 64 (K = 1024: one run),
//     then widened to i32 by a pairwise extadd.
//   simd128: the activations widened to i16 once per 16 (shared by the tile's channels), the
//     codes zero-extended, i32x4.dot_i16x8_s into i32 lanes (no overflow for K < 2^24).
// Measured (bench/kernels/ternary.ts, GEMV 1×4096×4096): simd128 with i16x8.extmul_*_i8x16_s on
// the int8 pair ≈ 1.7 ms vs ≈ 0.8–1.0 ms with the i16 dot; variable sub-block shifts (a loop
// over i, i8x16.shr_u) ≈ 1.95 ms vs ≈ 0.6 ms relaxed with the unrolled constant shifts (V8
// emulates variable i8x16 shifts). The machine is shared: numbers are indicative.
// Byte-mask select + add/sub was not taken: it needs two masks, two ands and two extadds per
// 16 elements and channel, where the codes need ≤ 2 ops and the product 1 (relaxed).
// Tiles: GEMV rows (M < 4, and the rows past the last quad) 1 row × the 4 channels of a packed
// quad, read through one pointer with constant offsets (4 row pointers kept 3 more registers
// live and reloaded them from the stack in the loop: 1.05–1.13× the time), blocks held in registers; GEMM 4 rows × 2 channels (8 accumulators), each code vector shared
// by the 4 rows and, unpacked once per run, by every quad of a row block; stored 4 × 4 (vector
// epilogue stores along rows, or along columns for the conv).
// Elements past the last whole 16 run scalar on the packed codes; the scalar build runs
// everything that way.
// The GEMM tile reads its activations packed (APACK: a' quad-interleaved, so the 4 loads of a
// group are one pointer and constant offsets) and its codes unpacked (CODES), per row block.
// Its group loop unrolled by two (to halve V8's per-iteration stack check, counter and pointer
// steps) measured 1.24–1.29× the time (64×1024×1024, 128×4096×1024; bench/kernels/ab.ts).

/** Tile results: Σ a'·c (code dots), up to 8 i32. */
export const DOTS: usize = memory.data(32, 16);
/** A multiple of 4, so every run starts on a block boundary (whole blocks are unpacked). */
export const RUN_GROUPS: i32 = 64;

/** 0x80 when the activations are u8 (read as a − 128), 0 for s8; set once per call. */
let flip: u8 = 0;

export function setActivationFlip(f: u8): void {
  flip = f;
}

/** One activation a' (scalar). */
// @ts-ignore: decorator
@inline export function ldA(p: usize): i32 {
  return <i32><i8>(load<u8>(p) ^ flip);
}

/**
 * i8x16.splat(3), the code mask, as a value the optimizer cannot fold (flip >> 7 is 0 or 1): a
 * tile keeps it in one local instead of an 18-byte v128.const at each use (−0.4 kB per build,
 * same speed: V8 hoists the constants either way).
 */
// @ts-ignore: decorator
@inline function codeMask(): v128 {
  return v128.or(i8x16.splat(flip >> 7), i8x16.splat(3));
}

/** Codes (m3 = codeMask()) of the 16 elements at sub-block i (0..3) of a packed block. */
// @ts-ignore: decorator
@inline function codes(blk: v128, i: i32, m3: v128): v128 {
  // An i16 shift then the byte mask: V8 lowers i8x16.shr_u to a 16-bit shift plus its own mask.
  if (i == 0) return v128.and(blk, m3);
  return v128.and(i16x8.shr_u(blk, <u32>(i << 1)), m3);
}

/** 16 activations as s8 (a'): fv is i8x16.splat(flip), splatted once per tile call (a splat of
 * the global per load measured ≈ 10–30% slower on GEMV 1×K×N). */
// @ts-ignore: decorator
@inline function loadA(p: usize, fv: v128): v128 {
  return v128.xor(v128.load(p), fv);
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

/** [hsum(a), hsum(b), hsum(c), hsum(d)] by two rounds of pairwise lane sums. */
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7)); // a0+a2 b0+b2 a1+a3 b1+b3
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** p + the code dot of x with sub-block i of packed block blk (i constant: fixed shifts). */
// @ts-ignore: decorator
@inline function step(p: v128, xl: v128, xh: v128, blk: v128, i: i32, m3: v128): v128 {
  return accum(p, dotCodes(xl, xh, codes(blk, i, m3)));
}

/** Flips the sign bit of n bytes at p (n a multiple of 16): u8 rows ↔ a' as s8. */
export function flipSigns(p: usize, n: i32): void {
  for (let k = 0; k < n; k += 16) v128.store(p + <usize>k, v128.xor(v128.load(p + <usize>k), i8x16.splat(<i8>0x80)));
}

/**
 * Σ a'·c of one s8 row against the 4 ternary rows of the quad at wq (row j's block b at
 * wq + 64·b + 16·j: one pointer, constant offsets) over the first G groups of 16, into
 * DOTS[0..3] (a u8 row is flipped once per row by the caller, not once per load and 4 channels).
 */
export function mk1x4(a: usize, wq: usize, G: i32): void {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  const m3 = codeMask();
  let g = 0;
  while (g < G) {
    const gend = min(g + RUN_GROUPS, G);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (; g + 4 <= gend; g += 4) {
      const wb = wq + (<usize>g << 4); // block g/4: the quad's 4 rows, 16 bytes each
      const b0 = v128.load(wb), b1 = v128.load(wb, 16), b2 = v128.load(wb, 32), b3 = v128.load(wb, 48);
      const ax = a + (<usize>g << 4);
      let x = v128.load(ax), xl = lowHalf(x), xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 0, m3); p1 = step(p1, xl, xh, b1, 0, m3); p2 = step(p2, xl, xh, b2, 0, m3); p3 = step(p3, xl, xh, b3, 0, m3);
      x = v128.load(ax, 16); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 1, m3); p1 = step(p1, xl, xh, b1, 1, m3); p2 = step(p2, xl, xh, b2, 1, m3); p3 = step(p3, xl, xh, b3, 1, m3);
      x = v128.load(ax, 32); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 2, m3); p1 = step(p1, xl, xh, b1, 2, m3); p2 = step(p2, xl, xh, b2, 2, m3); p3 = step(p3, xl, xh, b3, 2, m3);
      x = v128.load(ax, 48); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 3, m3); p1 = step(p1, xl, xh, b1, 3, m3); p2 = step(p2, xl, xh, b2, 3, m3); p3 = step(p3, xl, xh, b3, 3, m3);
    }
    if (g < gend) { // the whole groups of a last, partial block
      const wb = wq + (<usize>g << 4);
      const b0 = v128.load(wb), b1 = v128.load(wb, 16), b2 = v128.load(wb, 32), b3 = v128.load(wb, 48);
      for (let i = 0; g < gend; i++, g++) {
        const x = v128.load(a + (<usize>g << 4)), xl = lowHalf(x), xh = highHalf(x);
        p0 = step(p0, xl, xh, b0, i, m3); p1 = step(p1, xl, xh, b1, i, m3); p2 = step(p2, xl, xh, b2, i, m3); p3 = step(p3, xl, xh, b3, i, m3);
      }
    }
    s0 = i32x4.add(s0, widen(p0)); s1 = i32x4.add(s1, widen(p1));
    s2 = i32x4.add(s2, widen(p2)); s3 = i32x4.add(s3, widen(p3));
  }
  v128.store(DOTS, hsum4(s0, s1, s2, s3));
}

/** Row quads that share one unpacking of the codes (tgemm_t2i8.ts's row blocks). */
export const BLOCK_QUADS: i32 = 16;
/** The codes of the current run: group q's 16 codes of channel j at CODES + 32·q + 16·j. */
const CODES: usize = memory.data(RUN_GROUPS << 5, 16);
/** mk4x2's i32 totals, 8 vectors (row, column: 00 01 10 11 20 21 30 31) per quad of a block. */
export const TOTALS: usize = memory.data(BLOCK_QUADS << 7, 16);

/**
 * Unpacks the codes of groups [g, g + n) (n ≤ RUN_GROUPS) of two ternary rows to CODES, whole
 * blocks (a block past the row's last whole group is still inside the row).
 */
export function unpackRun(w0: usize, w1: usize, g: i32, n: i32): void {
  const m3 = codeMask();
  for (let q = g, at = CODES; q < g + n; q += 4, at += 128) {
    const b0 = v128.load(w0 + (<usize>q << 4)), b1 = v128.load(w1 + (<usize>q << 4));
    v128.store(at, codes(b0, 0, m3)); v128.store(at, codes(b1, 0, m3), 16);
    v128.store(at, codes(b0, 1, m3), 32); v128.store(at, codes(b1, 1, m3), 48);
    v128.store(at, codes(b0, 2, m3), 64); v128.store(at, codes(b1, 2, m3), 80);
    v128.store(at, codes(b0, 3, m3), 96); v128.store(at, codes(b1, 3, m3), 112);
  }
}

/**
 * Most groups of 16 the packed activations hold (256 KiB of the caller's scratch, 64 bytes a
 * group: a', quad-interleaved): 16 quads of K ≤ 4096, fewer quads of a longer K, a lone quad up
 * to K = 65536; beyond, mk4x2Rows reads the rows in place (packing a run per channel pair
 * measured 1.6× its time on 8×70000×64).
 */
export const APACK_GROUPS: i32 = 4096;

/** Packs groups [g, g + n) of the 4 rows a0 + i·la as a' (u8: the sign bit flipped) to dst. */
export function packQuad(a0: usize, la: usize, g: i32, n: i32, dst: usize): void {
  const fv = i8x16.splat(flip);
  for (let a = a0 + (<usize>g << 4), end = a + (<usize>n << 4); a < end; a += 16, dst += 64) {
    v128.store(dst, loadA(a, fv)); v128.store(dst, loadA(a + la, fv), 16);
    v128.store(dst, loadA(a + 2 * la, fv), 32); v128.store(dst, loadA(a + 3 * la, fv), 48);
  }
}

/**
 * Σ a'·c of a packed quad (ap: packQuad's groups) against the run's two unpacked rows (CODES)
 * over n groups, into the 8 totals at tot (stored by the first run, added by the others). The dot loop holds 8 accumulators, 2 codes and 4
 * activations — within V8's 16 xmm registers however it schedules the loads; unpacking inside
 * the loop (constant shifts of the blocks) spilled: 128×1024×1024 ≈ 23 GMAC/s. Packed
 * activations (one pointer, 4 scalar instructions a group): 0.96–1.0× the time of 4 row pointers
 * on s8, 0.52–0.71× on u8 (the sign flipped once at packing, not per load and tile).
 */
export function mk4x2(ap: usize, n: i32, tot: usize, first: bool): void {
  dots4x2(ap, 0, n, tot, first, true);
}

/** mk4x2 on 4 rows of a' (s8) in place, a0 + i·la, for a K past APACK. */
export function mk4x2Rows(a0: usize, la: usize, n: i32, tot: usize, first: bool): void {
  dots4x2(a0, la, n, tot, first, false);
}

// @ts-ignore: decorator
@inline function dots4x2(a0: usize, la: usize, n: i32, tot: usize, first: bool, packed: bool): void {
  let a1 = a0 + la, a2 = a1 + la, a3 = a2 + la;
  let p00 = i32x4.splat(0), p01 = i32x4.splat(0), p10 = i32x4.splat(0), p11 = i32x4.splat(0);
  let p20 = i32x4.splat(0), p21 = i32x4.splat(0), p30 = i32x4.splat(0), p31 = i32x4.splat(0);
  for (let at = CODES, end = CODES + (<usize>n << 5); at < end; at += 32) {
    const c0 = v128.load(at), c1 = v128.load(at, 16);
    let x = packed ? v128.load(a0) : v128.load(a0), xl = lowHalf(x), xh = highHalf(x);
    p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
    x = packed ? v128.load(a0, 16) : v128.load(a1); xl = lowHalf(x); xh = highHalf(x);
    p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
    x = packed ? v128.load(a0, 32) : v128.load(a2); xl = lowHalf(x); xh = highHalf(x);
    p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
    x = packed ? v128.load(a0, 48) : v128.load(a3); xl = lowHalf(x); xh = highHalf(x);
    p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
    if (packed) {
      a0 += 64;
    } else {
      a0 += 16; a1 += 16; a2 += 16; a3 += 16;
    }
  }
  if (first) { // the run starting the totals
    v128.store(tot, widen(p00)); v128.store(tot, widen(p01), 16); v128.store(tot, widen(p10), 32); v128.store(tot, widen(p11), 48);
    v128.store(tot, widen(p20), 64); v128.store(tot, widen(p21), 80); v128.store(tot, widen(p30), 96); v128.store(tot, widen(p31), 112);
    return;
  }
  addWide(tot, 0, p00); addWide(tot, 16, p01); addWide(tot, 32, p10); addWide(tot, 48, p11);
  addWide(tot, 64, p20); addWide(tot, 80, p21); addWide(tot, 96, p30); addWide(tot, 112, p31);
}

// @ts-ignore: decorator
@inline function addWide(tot: usize, off: usize, p: v128): void {
  v128.store(tot + off, i32x4.add(v128.load(tot + off), widen(p)));
}

/** The 8 totals at tot as DOTS[2·row + col] (two vectors: rows 0–1, rows 2–3). */
export function dotsOfTotals(tot: usize): void {
  v128.store(DOTS, hsum4(v128.load(tot), v128.load(tot, 16), v128.load(tot, 32), v128.load(tot, 48)));
  v128.store(DOTS, hsum4(v128.load(tot, 64), v128.load(tot, 80), v128.load(tot, 96), v128.load(tot, 112)), 16);
}

/** Σ_{k<K16} a'[k] of row `ar` (simd builds): the code-dot correction. */
// @ts-ignore: decorator
@inline export function rowSum(ar: usize, K16: i32): i32 {
  let s = i32x4.splat(0);
  const fv = i8x16.splat(flip);
  for (let k = 0; k < K16; k += 16) s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(loadA(ar + <usize>k, fv))));
  return hsum(s);
}

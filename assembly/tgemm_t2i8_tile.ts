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
// The GEMM tile unrolls the 4 sub-blocks of a block (constant shifts, one load of the block)
// like the GEMV tile: measured ≈ 25% faster on the relaxed build than a loop over groups with a
// variable shift (64×1024×1024 ≈ 1.7 vs 2.2–2.3 ms, same process). It is instantiated per
// activation type so that s8 rows load without the sign flip: 1.09–1.29× on s8 over M×K×N =
// 16–256 × 768–4096 × 1024–4096 (relaxed, interleaved A/B against the flipping tile, 3 runs).

/** Tile results: Σ a'·c (code dots), up to 8 i32. */
export const DOTS: usize = memory.data(32, 16);
/** A multiple of 4, so every run starts on a block boundary (the tiles unroll blocks). */
const RUN_GROUPS: i32 = 60;

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

/** 16 activations as s8 (a'): as loaded when T is i8, the sign bit flipped when u8. */
// @ts-ignore: decorator
@inline function loadAT<T>(p: usize): v128 {
  return isSigned<T>() ? v128.load(p) : v128.xor(v128.load(p), i8x16.splat(<i8>0x80));
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
 * Σ a'·c of one s8 row against 4 ternary rows over the first G groups of 16, into DOTS[0..3]
 * (a u8 row is flipped once per row by the caller, not once per load and 4 channels).
 */
export function mk1x4(a: usize, w0: usize, w1: usize, w2: usize, w3: usize, G: i32): void {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  const m3 = codeMask();
  let g = 0;
  while (g < G) {
    const gend = min(g + RUN_GROUPS, G);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (; g + 4 <= gend; g += 4) {
      const off = <usize>g << 4; // block g/4: 64 bytes apart (quad-interleaved rows)
      const b0 = v128.load(w0 + off), b1 = v128.load(w1 + off), b2 = v128.load(w2 + off), b3 = v128.load(w3 + off);
      const ax = a + (<usize>g << 4);
      let x = v128.load(ax), xl = lowHalf(x), xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 0, m3); p1 = step(p1, xl, xh, b1, 0, m3); p2 = step(p2, xl, xh, b2, 0, m3); p3 = step(p3, xl, xh, b3, 0, m3);
      x = v128.load(ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 1, m3); p1 = step(p1, xl, xh, b1, 1, m3); p2 = step(p2, xl, xh, b2, 1, m3); p3 = step(p3, xl, xh, b3, 1, m3);
      x = v128.load(ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 2, m3); p1 = step(p1, xl, xh, b1, 2, m3); p2 = step(p2, xl, xh, b2, 2, m3); p3 = step(p3, xl, xh, b3, 2, m3);
      x = v128.load(ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p0 = step(p0, xl, xh, b0, 3, m3); p1 = step(p1, xl, xh, b1, 3, m3); p2 = step(p2, xl, xh, b2, 3, m3); p3 = step(p3, xl, xh, b3, 3, m3);
    }
    if (g < gend) { // the whole groups of a last, partial block
      const off = <usize>g << 4; // block g/4: 64 bytes apart (quad-interleaved rows)
      const b0 = v128.load(w0 + off), b1 = v128.load(w1 + off), b2 = v128.load(w2 + off), b3 = v128.load(w3 + off);
      for (let i = 0; g < gend; i++, g++) {
        const x = v128.load(a + (<usize>g << 4)), xl = lowHalf(x), xh = highHalf(x);
        p0 = step(p0, xl, xh, b0, i, m3); p1 = step(p1, xl, xh, b1, i, m3); p2 = step(p2, xl, xh, b2, i, m3); p3 = step(p3, xl, xh, b3, i, m3);
      }
    }
    s0 = i32x4.add(s0, widen(p0)); s1 = i32x4.add(s1, widen(p1));
    s2 = i32x4.add(s2, widen(p2)); s3 = i32x4.add(s3, widen(p3));
  }
  v128.store(DOTS, sum4(s0, s1, s2, s3));
}

/** [Σ lanes of s0, Σ s1, Σ s2, Σ s3] as one i32x4 (a 4×4 transpose-add). */
// @ts-ignore: decorator
@inline function sum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const e01 = i32x4.add(v128.shuffle<i32>(s0, s1, 0, 4, 1, 5), v128.shuffle<i32>(s0, s1, 2, 6, 3, 7));
  const e23 = i32x4.add(v128.shuffle<i32>(s2, s3, 0, 4, 1, 5), v128.shuffle<i32>(s2, s3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(e01, e23, 0, 1, 4, 5), v128.shuffle<i32>(e01, e23, 2, 3, 6, 7));
}

/**
 * Σ a'·c of 4 rows against 2 ternary rows over the first G groups of 16; DOTS[2·row + col].
 * T: the activation type (i8, or u8 read with the sign bit flipped), so s8 rows load as they are.
 */
export function mk4x2<T>(a0: usize, a1: usize, a2: usize, a3: usize, w0: usize, w1: usize, G: i32): void {
  let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s10 = i32x4.splat(0), s11 = i32x4.splat(0);
  let s20 = i32x4.splat(0), s21 = i32x4.splat(0), s30 = i32x4.splat(0), s31 = i32x4.splat(0);
  const m3 = codeMask();
  let g = 0;
  while (g < G) {
    const gend = min(g + RUN_GROUPS, G);
    let p00 = i32x4.splat(0), p01 = i32x4.splat(0), p10 = i32x4.splat(0), p11 = i32x4.splat(0);
    let p20 = i32x4.splat(0), p21 = i32x4.splat(0), p30 = i32x4.splat(0), p31 = i32x4.splat(0);
    for (; g + 4 <= gend; g += 4) { // whole blocks: the 4 sub-blocks by constant shifts
      const b0 = v128.load(w0 + (<usize>g << 4)), b1 = v128.load(w1 + (<usize>g << 4));
      const ax = <usize>g << 4;
      let c0: v128, c1: v128, x: v128, xl: v128, xh: v128;
      c0 = codes(b0, 0, m3); c1 = codes(b1, 0, m3);
      x = loadAT<T>(a0 + ax); xl = lowHalf(x); xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadAT<T>(a1 + ax); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadAT<T>(a2 + ax); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadAT<T>(a3 + ax); xl = lowHalf(x); xh = highHalf(x);
      p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
      c0 = codes(b0, 1, m3); c1 = codes(b1, 1, m3);
      x = loadAT<T>(a0 + ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadAT<T>(a1 + ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadAT<T>(a2 + ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadAT<T>(a3 + ax + 16); xl = lowHalf(x); xh = highHalf(x);
      p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
      c0 = codes(b0, 2, m3); c1 = codes(b1, 2, m3);
      x = loadAT<T>(a0 + ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadAT<T>(a1 + ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadAT<T>(a2 + ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadAT<T>(a3 + ax + 32); xl = lowHalf(x); xh = highHalf(x);
      p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
      c0 = codes(b0, 3, m3); c1 = codes(b1, 3, m3);
      x = loadAT<T>(a0 + ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadAT<T>(a1 + ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadAT<T>(a2 + ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadAT<T>(a3 + ax + 48); xl = lowHalf(x); xh = highHalf(x);
      p30 = accum(p30, dotCodes(xl, xh, c0)); p31 = accum(p31, dotCodes(xl, xh, c1));
    }
    for (; g < gend; g++) { // the whole groups of a last, partial block
      const off = <usize>(g >> 2) << 6;
      const i = g & 3;
      const c0 = codes(v128.load(w0 + off), i, m3), c1 = codes(v128.load(w1 + off), i, m3);
      const ax = <usize>g << 4;
      let x = loadAT<T>(a0 + ax), xl = lowHalf(x), xh = highHalf(x);
      p00 = accum(p00, dotCodes(xl, xh, c0)); p01 = accum(p01, dotCodes(xl, xh, c1));
      x = loadAT<T>(a1 + ax); xl = lowHalf(x); xh = highHalf(x);
      p10 = accum(p10, dotCodes(xl, xh, c0)); p11 = accum(p11, dotCodes(xl, xh, c1));
      x = loadAT<T>(a2 + ax); xl = lowHalf(x); xh = highHalf(x);
      p20 = accum(p20, dotCodes(xl, xh, c0)); p21 = accum(p21, dotCodes(xl, xh, c1));
      x = loadAT<T>(a3 + ax); xl = lowHalf(x); xh = highHalf(x);
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
@inline export function rowSum(ar: usize, K16: i32): i32 {
  let s = i32x4.splat(0);
  const fv = i8x16.splat(flip);
  for (let k = 0; k < K16; k += 16) s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(loadA(ar + <usize>k, fv))));
  return hsum(s);
}
